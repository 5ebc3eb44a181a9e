//! Any bytes: decode, parse, parse as an expression, expand. Nothing may
//! panic or overflow the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use section_access::script::source::SourceId;
use section_access::script::{Expander, decode, expand, parse, parse_expr};

/// Variables that expand into more expansions, one that expands into
/// itself, and an evaluator that parses what it is given.
struct Env;

impl Expander for Env {
    fn variable(&mut self, name: &str) -> Option<String> {
        match name {
            "a" => Some("$(b)x".to_owned()),
            "b" => Some("$1 $2 $0".to_owned()),
            "self" => Some("$(self)".to_owned()),
            _ => None,
        }
    }

    fn evaluate(&mut self, expr: &str) -> Result<String, String> {
        parse_expr(SourceId(0), expr)
            .map(|e| e.to_string())
            .map_err(|e| e.to_string())
    }

    fn include(&mut self, path: &str, must: bool) -> Result<String, String> {
        if must {
            Err(format!("no file `{path}`"))
        } else {
            Ok("SET x = 1;".to_owned())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = decode(data.to_vec());
    if let Ok(parsed) = parse(SourceId(0), &text) {
        let _ = parsed.script.body.len();
    }
    let _ = parse_expr(SourceId(0), &text);
    if let Ok(expanded) = expand(&text, &mut Env) {
        let _ = parse(SourceId(1), &expanded);
    }
});
