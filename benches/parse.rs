//! Parse throughput: a script with one large INLINE table (the content is
//! copied verbatim, so this measures the scanner), and a script of many
//! small statements (the statement and expression parsers).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use section_access::script::parse;
use section_access::script::source::SourceId;

fn large_inline(rows: usize) -> String {
    let mut s = String::from("Section Access;\nLOAD * INLINE [\nACCESS, USERID, COUNTRY\n");
    for i in 0..rows {
        let _ = writeln!(s, "USER, user-{i}, C{}", i % 50);
    }
    s.push_str("];\nSection Application;\n");
    s
}

fn many_statements(blocks: usize) -> String {
    let mut s = String::new();
    for i in 0..blocks {
        let _ = write!(
            s,
            "SET v{i} = 'value {i}';\n\
             LET n{i} = {i} * 2 + Len('abc') & 'x';\n\
             T{i}:\nLOAD Upper(Name) AS NAME, If(Amount > {i}, 'big', 'small') AS Size,\n  \
             ApplyMap('Map', Id, 'none') AS Mapped\nRESIDENT Source WHERE Country = 'US' AND Amount <> 0;\n\
             IF n{i} > 10 THEN\n  DROP TABLE T{i};\nEND IF\n"
        );
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for (name, text) in [
        ("inline_200k_rows", large_inline(200_000)),
        ("statements_5k_blocks", many_statements(5_000)),
    ] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| parse(SourceId(0), black_box(&text)).map(|p| p.script.body.len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
