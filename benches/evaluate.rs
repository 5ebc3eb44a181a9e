//! Evaluation: compiling the security tables, and one identity's decision
//! with its reduction (`preview`), on the generated default app.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench"
)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use section_access::access::{Evaluator, Options};
use section_access::load::{LoadOptions, run_file};
use section_access::{GroupName, Identity, UserId};

fn bench(c: &mut Criterion) {
    let Some(script) = common::gen_app("default", &[]) else {
        eprintln!("python3 or gen.py not found: evaluate benchmarks skipped");
        return;
    };
    let app = run_file(&script, &LoadOptions::default()).unwrap();
    let opts = Options::default();
    let identity = Identity::new(
        Some(UserId::new("USER5")),
        None,
        vec![GroupName::new("GROUP3")],
    );
    let mut g = c.benchmark_group("evaluate");
    g.bench_function("compile", |b| {
        b.iter(|| black_box(Evaluator::new(&app, opts)));
    });
    let ev = Evaluator::new(&app, opts);
    g.bench_function("user5_group3", |b| {
        b.iter(|| black_box(ev.evaluate(&identity)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
