//! `section-access serve` against the built binary: the URL on stdout, exit
//! codes for what stops it from starting.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::common::{run, tutorial};

#[test]
fn prints_the_url_and_answers_on_it() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_section-access"))
        .args(["serve", "--port", "0"])
        .arg(tutorial())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    let addr = url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix('/'))
        .unwrap_or_else(|| panic!("not a URL: `{url}`"));
    assert!(
        addr.starts_with("127.0.0.1:"),
        "loopback by default: {addr}"
    );
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /api/status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""ok":true"#), "{answer}");
}

#[test]
fn a_script_that_does_not_load_exits_1() {
    let dir = std::env::temp_dir().join(format!("section-access-cli-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("broken.qvs");
    std::fs::write(&script, "LOAD * INLINE [\nA\n").unwrap();
    let o = run(&["serve", "--port", "0", script.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("broken.qvs"));
    let o = run(&["serve", "--port", "0", "no-such-script.qvs"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn token_options_are_checked_before_serving() {
    let script = tutorial();
    let o = run(&[
        "serve",
        script.to_str().unwrap(),
        "--port",
        "0",
        "--kid",
        "k1",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--kid"));
}

#[test]
fn a_port_in_use_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let o = run(&["serve", tutorial().to_str().unwrap(), "--port", &port]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot listen"));
}
