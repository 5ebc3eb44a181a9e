//! Load-script text → AST (parse phase). Knows nothing of tables or users.

pub mod ast;
pub mod source;
