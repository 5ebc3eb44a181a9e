//! The whole audit (every identity of the security tables) on the
//! generated default app: matching, grouping, per-value counts, findings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench"
)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use section_access::access::Options;
use section_access::audit::{Audit, identities};
use section_access::load::{LoadOptions, run_file};

fn bench(c: &mut Criterion) {
    let Some(script) = common::gen_app("default", &[]) else {
        eprintln!("python3 or gen.py not found: audit benchmark skipped");
        return;
    };
    let app = run_file(&script, &LoadOptions::default()).unwrap();
    let opts = Options::default();
    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    g.throughput(Throughput::Elements(identities(&app, &opts).len() as u64));
    g.bench_function("gen_app_default", |b| {
        b.iter(|| black_box(Audit::run(&app, &opts, &[], &|_, _| {})));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
