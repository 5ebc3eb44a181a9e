//! A bounded load test of `serve` on loopback: 2,000 previews, 8 at a time,
//! every answer a 200 with the preview JSON, no error. It prints p50 and
//! p99 (a figure for the README, not a pass mark: speed is measured by
//! `benches/serve.rs`). `SERVE_LOAD_APP=path/to/app.qvs` runs it on another
//! app (the README's figures: app M in a release build).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use section_access::access::Options;
use section_access::jwt::{Keys, Profile};
use section_access::load::LoadOptions;
use section_access::serve::{Config, Server, TokenPolicy};

use crate::common::root;

const REQUESTS: usize = 2000;
const AT_ONCE: usize = 8;

/// One `POST /api/preview` on a fresh connection: status and body.
fn preview(addr: SocketAddr, body: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let req = format!(
        "POST /api/preview HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.as_bytes().to_vec())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn two_thousand_previews_eight_at_a_time_all_answer() {
    let script = std::env::var_os("SERVE_LOAD_APP")
        .map_or_else(|| root().join("fixtures/apps/small/app.qvs"), PathBuf::from);
    let server = Server::start(
        "127.0.0.1:0".parse().unwrap(),
        Config {
            script: script.clone(),
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
    let users: Vec<String> = section_access::audit::identities(
        &section_access::load::run_file(&script, &LoadOptions::default()).unwrap(),
        &Options::default(),
    )
    .into_iter()
    .filter_map(|i| i.userid.map(|u| u.to_string()))
    .collect();
    assert!(!users.is_empty());
    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let mut times: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..AT_ONCE)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= REQUESTS {
                            return mine;
                        }
                        let user = &users[n * 7919 % users.len()];
                        let body = serde_json::json!({ "userid": user }).to_string();
                        let t = Instant::now();
                        let (status, answer) = preview(addr, &body);
                        mine.push(t.elapsed());
                        let ok = status == 200
                            && serde_json::from_slice::<Value>(&answer).is_ok_and(|j| {
                                j["decision"].is_string() && j["tables"].is_object()
                            });
                        if !ok {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(failures.into_inner(), 0, "some previews failed");
    assert_eq!(times.len(), REQUESTS);
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    eprintln!(
        "serve load test on {}: {REQUESTS} previews, {AT_ONCE} at a time: p50 {:.2} ms, p99 {:.2} ms",
        script.display(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );
}
