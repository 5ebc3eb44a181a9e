//! Reduction on the generated app ten times the default size (1M sales):
//! building the links, one three-country selection through the general
//! reducer, and the per-value parts the audit counts from.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench"
)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use section_access::load::{LoadOptions, run_file};
use section_access::model::{BitSet, Value};
use section_access::reduce::{Links, Selection};

fn bench(c: &mut Criterion) {
    let args = [
        "--users",
        "10000",
        "--groups",
        "200",
        "--countries",
        "200",
        "--customers",
        "100000",
        "--products",
        "20000",
        "--sales",
        "1000000",
    ];
    let Some(script) = common::gen_app("m", &args) else {
        eprintln!("python3 or gen.py not found: reduce benchmarks skipped");
        return;
    };
    let app = run_file(&script, &LoadOptions::default()).unwrap();
    let data = &app.data;
    let country = data.find_field("COUNTRY").unwrap();
    let symbols = data.symbols(country).unwrap();
    let mut allowed = BitSet::new(symbols.len());
    let mut values = Vec::new();
    for c in ["C007", "C010", "C064"] {
        let id = symbols.lookup(&Value::from_text(c)).unwrap();
        allowed.insert(id.index());
        values.push(id);
    }
    let selection = Selection {
        fields: vec![(country, allowed)],
        rows: Vec::new(),
    };
    let mut g = c.benchmark_group("reduce");
    g.sample_size(10);
    g.bench_function("links", |b| b.iter(|| black_box(Links::new(data))));
    let links = Links::new(data);
    g.bench_function("three_countries", |b| {
        b.iter(|| black_box(links.reduce(data, &selection)));
    });
    g.bench_function("per_value_build", |b| {
        b.iter(|| black_box(links.per_value(data, country)));
    });
    let per_value = links.per_value(data, country).unwrap();
    g.bench_function("per_value_three_countries", |b| {
        b.iter(|| black_box(per_value.counts(&values)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
