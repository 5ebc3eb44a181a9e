//! `serve`: one `POST /api/preview` at a time over loopback, after the
//! model is loaded, on the generated app (`BENCH_SERVE_APP=path/app.qvs`
//! for another: the README's figures are apps L and M). The first preview
//! makes the per-value counts and is not measured.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench"
)]

mod common;

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use section_access::access::Options;
use section_access::jwt::{Keys, Profile};
use section_access::load::LoadOptions;
use section_access::serve::{Config, Server, TokenPolicy};

fn preview(addr: SocketAddr, user: &str) -> usize {
    let body = format!("{{\"userid\": \"{user}\"}}");
    let mut s = TcpStream::connect(addr).unwrap();
    let req = format!(
        "POST /api/preview HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    assert!(
        raw.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    raw.len()
}

fn bench(c: &mut Criterion) {
    let script = match std::env::var_os("BENCH_SERVE_APP") {
        Some(p) => PathBuf::from(p),
        None => {
            let Some(p) = common::gen_app("default", &[]) else {
                eprintln!("python3 or gen.py not found: serve benchmarks skipped");
                return;
            };
            p
        }
    };
    let server = Server::start(
        "127.0.0.1:0".parse().unwrap(),
        Config {
            script,
            load: LoadOptions::default(),
            access: Options::default(),
            tokens: TokenPolicy {
                profile: Profile::default(),
                keys: Keys::None,
                now: None,
                leeway: 0,
            },
            watch: None,
            on_reload: None,
        },
    )
    .unwrap();
    let addr = server.addr();
    // Start waits for the first load; the first preview makes the counts.
    preview(addr, "USER1");
    let mut g = c.benchmark_group("serve");
    g.measurement_time(Duration::from_secs(10));
    let mut n = 0usize;
    g.bench_function("preview", |b| {
        b.iter(|| {
            n += 1;
            black_box(preview(addr, &format!("USER{}", n % 1000)))
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
