//! Loading throughput: a large INLINE section access table, the generated
//! benchmark app (`../shared/bench/gen.py`, generated into
//! `target/bench-apps/` on first run), and a QVD file (written by the
//! tool's own STORE from a generated table, then decoded).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench"
)]

mod common;

use std::fmt::Write as _;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use section_access::load::{LoadOptions, run_file, run_source};

fn inline_script(rows: usize) -> String {
    let mut s =
        String::from("Section Access;\nSA:\nLOAD * INLINE [\nACCESS, USERID, GROUP, COUNTRY\n");
    for i in 0..rows {
        writeln!(s, "USER, user{i}, group{}, c{:03}", i % 50, i % 200).unwrap();
    }
    s.push_str("];\nSection Application;\n");
    s
}

fn bench(c: &mut Criterion) {
    let script = inline_script(100_000);
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(script.len() as u64));
    g.bench_function("inline_section_access_100k", |b| {
        b.iter(|| run_source(Path::new("bench.qvs"), &script, &LoadOptions::default()).unwrap());
    });
    if let Some(app) = common::gen_app("default", &[]) {
        let dir = app.parent().unwrap_or(Path::new("."));
        let bytes: u64 = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.metadata().map_or(0, |m| m.len()))
            .sum();
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function("gen_app_default", |b| {
            b.iter(|| run_file(&app, &LoadOptions::default()).unwrap());
        });
    } else {
        eprintln!("python3 or gen.py not found: gen_app benchmark skipped");
    }
    bench_qvd(&mut g);
    g.finish();
}

/// QVD decoding: a million rows of integers, decimals, texts and dates,
/// stored once, then loaded.
fn bench_qvd(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let dir = std::env::temp_dir().join(format!("sa-bench-qvd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let make = "T:\nLOAD RecNo() as Id, Mod(RecNo() * 7919, 100000) as Customer,\n\
                Round(Mod(RecNo() * 31, 100000) / 100, 0.01) as Amount,\n\
                'Name ' & Mod(RecNo(), 50000) as Name, Date(45000 + Mod(RecNo(), 700)) as Day\n\
                AUTOGENERATE 1000000;\nSTORE T INTO [t.qvd] (qvd);\n";
    let opts = LoadOptions {
        write_stores: true,
        ..LoadOptions::default()
    };
    run_source(&dir.join("make.qvs"), make, &opts).unwrap();
    let bytes = std::fs::metadata(dir.join("t.qvd")).unwrap().len();
    let load = "T: LOAD * FROM [t.qvd] (qvd);\n";
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("qvd_1m_rows", |b| {
        b.iter(|| run_source(&dir.join("load.qvs"), load, &LoadOptions::default()).unwrap());
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
