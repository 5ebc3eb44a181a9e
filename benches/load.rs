//! Loading benchmarks (filled in below).
fn main() {}
