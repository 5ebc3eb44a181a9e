//! The `serve` HTTP API over real HTTP on loopback.
//!
//! Each test starts the library's [`Server`] on port 0 in-process and talks to
//! it with a tiny HTTP/1.1 client on `std::net::TcpStream`: no client crate,
//! and full control over what goes on the wire (bad headers, oversized bodies,
//! a foreign `Host`), which a client library would normalise or refuse.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use section_access::access::Options;
use section_access::jwt::{self, EngineProfile, Keys, MintClaims, Profile, SigningKey, Validate};
use section_access::load::LoadOptions;
use section_access::serve::{Config, ServeError, Server, TokenPolicy};
use serde_json::{Value, json};

use crate::common::{root, tutorial};

/// The servers' fixed clock: tokens minted at this time are valid.
const NOW: i64 = 1_700_000_000;
const SECRET: &str = "passw0rd";

fn fixture(rel: &str) -> PathBuf {
    root().join(rel)
}

fn config(script: &Path) -> Config {
    Config {
        script: script.to_path_buf(),
        load: LoadOptions::default(),
        access: Options::default(),
        tokens: TokenPolicy {
            profile: Profile::default(),
            keys: Keys::secret(SECRET).unwrap(),
            now: Some(NOW),
            leeway: 0,
        },
        watch: None,
        on_reload: None,
    }
}

fn start(config: Config) -> Server {
    Server::start("127.0.0.1:0".parse().unwrap(), config).unwrap()
}

fn token(sub: &str, issued: i64) -> String {
    token_with(SECRET, sub, issued)
}

fn token_with(secret: &str, sub: &str, issued: i64) -> String {
    let key = SigningKey::secret(secret).unwrap();
    jwt::mint(&Profile::default(), &key, &MintClaims::new(sub, issued)).unwrap()
}

/// An HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request (`Connection: close`) and reads the whole answer.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before reading a large body.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).unwrap().trim(), 16).unwrap();
        data = &data[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path, &[], b"")
}

fn post_json(addr: SocketAddr, body: &Value) -> Answer {
    request(
        addr,
        "POST",
        "/api/preview",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

fn post_token(addr: SocketAddr, token: &str) -> Answer {
    let auth = format!("Bearer {token}");
    request(
        addr,
        "POST",
        "/api/preview",
        &[("Authorization", &auth)],
        b"",
    )
}

fn assert_unauthorized(a: &Answer, code: &str) {
    assert_eq!(a.status, 401, "{}", String::from_utf8_lossy(&a.body));
    let challenge = a.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{challenge}"
    );
    let body = a.json();
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["errors"].as_array().unwrap().iter().any(|c| c == code),
        "{body}"
    );
    assert_eq!(body["decision"], "unauthorized");
}

fn assert_bad_request(a: &Answer, code: &str) {
    assert_eq!(a.status, 400, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["error"], code);
    assert!(a.json()["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn identities_are_the_users_the_security_table_names() {
    let server = start(config(&tutorial()));
    let a = get(server.addr(), "/api/identities");
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/json"));
    let labels: Vec<String> = a.json()["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect();
    // The audit's order: users sorted, then e-mails, then groups.
    assert_eq!(labels, ["ADMIN", "DE-USER", "UK-USER", "US-USER"]);
}

#[test]
fn a_typed_identity_gets_the_preview_json_of_the_contract() {
    let server = start(config(&tutorial()));
    let a = post_json(server.addr(), &json!({"userid": "us-user"}));
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json(),
        json!({
            "identity": {"userid": "US-USER", "email": null, "groups": []},
            "decision": "granted",
            "reason": null,
            "access": "USER",
            "matched_rows": [{"table": "SA", "row": 2, "line": 6}],
            "reduction": {"COUNTRY": ["US"]},
            "omitted": [],
            "tables": {"Sales": {"rows": 3, "total": 9, "fields": ["COUNTRY", "PRODUCT", "SALES_AMOUNT"]}},
            "notes": []
        })
    );
    let denied = post_json(server.addr(), &json!({"userid": "nobody", "groups": ["X"]}));
    assert_eq!(
        denied.status, 200,
        "a denial is an answer, not an HTTP error"
    );
    assert_eq!(denied.json()["decision"], "denied");
    assert_eq!(denied.json()["reason"], "no-matching-row");
}

#[test]
fn a_valid_token_previews_its_subject() {
    let server = start(config(&tutorial()));
    let a = post_token(server.addr(), &token("uk-user", NOW));
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let body = a.json();
    assert_eq!(body["identity"]["userid"], "UK-USER");
    assert_eq!(body["reduction"], json!({"COUNTRY": ["UK"]}));
}

#[test]
fn bad_tokens_get_401_like_the_engine() {
    let server = start(config(&tutorial()));
    let addr = server.addr();
    // Signed with another secret.
    assert_unauthorized(
        &post_token(addr, &token_with("wrong-secret", "uk-user", NOW)),
        "bad-signature",
    );
    // Expired an hour before the server's clock.
    assert_unauthorized(&post_token(addr, &token("uk-user", NOW - 3600)), "expired");
    // Unsigned, which mode 2 (the default) refuses.
    let unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1ay11c2VyIn0.";
    assert_unauthorized(&post_token(addr, unsigned), "alg-none-rejected");
    // Malformed.
    assert_unauthorized(&post_token(addr, "not-a-jwt"), "malformed-token");
    assert_unauthorized(&post_token(addr, ""), "malformed-token");
    // Over the size limit: refused before decoding.
    let huge = "a".repeat(jwt::MAX_TOKEN_LEN + 1);
    assert_unauthorized(&post_token(addr, &huge), "token-too-large");
    // The same token check guards the rows.
    let auth = format!("Bearer {unsigned}");
    let rows = request(
        addr,
        "GET",
        "/api/tables/Sales",
        &[("Authorization", &auth)],
        b"",
    );
    assert_unauthorized(&rows, "alg-none-rejected");
}

#[test]
fn mode_1_accepts_an_unsigned_token() {
    let mut c = config(&tutorial());
    c.tokens.profile = Profile::Engine(EngineProfile {
        validate: Validate::from_level(1).unwrap(),
    });
    let server = start(c);
    let unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1ay11c2VyIn0.";
    let a = post_token(server.addr(), unsigned);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["identity"]["userid"], "UK-USER");
}

#[test]
fn without_now_the_clock_is_read_at_each_request() {
    let mut c = config(&tutorial());
    c.tokens.now = None;
    let server = start(c);
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(
        post_token(server.addr(), &token("uk-user", wall)).status,
        200
    );
    // Valid at NOW, long expired by the wall clock.
    assert_unauthorized(
        &post_token(server.addr(), &token("uk-user", NOW)),
        "expired",
    );
}

#[test]
fn bad_requests_get_400_with_a_json_error() {
    let server = start(config(&tutorial()));
    let addr = server.addr();
    let post = |body: &[u8]| request(addr, "POST", "/api/preview", &[], body);
    assert_bad_request(&post(b"{not json"), "bad-json");
    assert_bad_request(&post(br#"{"user": "us-user"}"#), "bad-json");
    assert_bad_request(&post(br#"{"userid": 7}"#), "bad-json");
    assert_bad_request(&post(br#"["us-user"]"#), "bad-json");
    assert_bad_request(
        &post(br#"{"userid": "  ", "groups": [""]}"#),
        "missing-identity",
    );
    assert_bad_request(&post(b""), "missing-identity");
    let basic = request(
        addr,
        "POST",
        "/api/preview",
        &[("Authorization", "Basic dXM6cGFzcw==")],
        b"",
    );
    assert_bad_request(&basic, "bad-authorization");
    let auth = format!("Bearer {}", token("uk-user", NOW));
    let both = request(
        addr,
        "POST",
        "/api/preview",
        &[("Authorization", &auth)],
        br#"{"userid": "us-user"}"#,
    );
    assert_bad_request(&both, "identity-and-token");
    for q in [
        "userid=us-user&limit=0",
        "userid=us-user&limit=1001",
        "userid=us-user&offset=-1",
        "userid=us-user&limit=ten",
        "user=us-user",
        "",
    ] {
        let a = get(addr, &format!("/api/tables/Sales?{q}"));
        let code = if q.is_empty() {
            "missing-identity"
        } else {
            "bad-query"
        };
        assert_bad_request(&a, code);
    }
}

#[test]
fn limits_a_large_body_gets_413() {
    let server = start(config(&tutorial()));
    let padding = " ".repeat(section_access::serve::MAX_BODY);
    let body = format!(r#"{{"userid": "us-user"{padding}}}"#);
    let a = request(server.addr(), "POST", "/api/preview", &[], body.as_bytes());
    assert_eq!(a.status, 413);
    assert_eq!(a.json()["error"], "body-too-large");
    // Just under the limit is fine.
    let padding = " ".repeat(section_access::serve::MAX_BODY - 40);
    let body = format!(r#"{{"userid": "us-user"{padding}}}"#);
    let a = request(server.addr(), "POST", "/api/preview", &[], body.as_bytes());
    assert_eq!(a.status, 200);
}

#[test]
fn table_rows_page_through_the_reduced_table() {
    let server = start(config(&fixture("fixtures/apps/small/app.qvs")));
    let addr = server.addr();
    let preview = post_json(addr, &json!({"userid": "user0"})).json();
    assert_eq!(preview["decision"], "granted");
    let rows = preview["tables"]["Sales"]["rows"].as_u64().unwrap() as usize;
    let total = preview["tables"]["Sales"]["total"].as_u64().unwrap();
    assert!(rows > 250 && (rows as u64) < total, "{rows} of {total}");

    let whole = get(addr, "/api/tables/Sales?userid=user0&limit=1000").json();
    assert_eq!(whole["table"], "Sales");
    assert_eq!(whole["rows"], rows);
    assert_eq!(whole["total"], total);
    assert_eq!(
        whole["fields"],
        json!([
            "ORDER_ID",
            "CUSTOMER_ID",
            "PRODUCT_ID",
            "AMOUNT",
            "ORDER_DATE"
        ])
    );
    let all = whole["data"].as_array().unwrap().clone();
    assert_eq!(all.len(), rows.min(1000));

    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let page = get(
            addr,
            &format!("/api/tables/Sales?userid=USER0&offset={offset}&limit=100"),
        )
        .json();
        assert_eq!(page["offset"], offset);
        assert_eq!(page["limit"], 100);
        let data = page["data"].as_array().unwrap();
        if data.is_empty() {
            break;
        }
        assert!(data.len() <= 100);
        paged.extend(data.iter().cloned());
        offset += 100;
    }
    assert_eq!(paged.len(), rows);
    assert_eq!(&paged[..all.len()], &all[..]);
    // A page past the end is empty, not an error.
    let past = get(
        addr,
        &format!("/api/tables/Sales?userid=user0&offset={}", rows + 5),
    )
    .json();
    assert_eq!(past["data"], json!([]));
    // Group members: repeated `group` keys.
    let group = get(
        addr,
        "/api/tables/Customers?group=GROUP0&group=NOPE&limit=5",
    )
    .json();
    assert_eq!(group["table"], "Customers");
    assert!(group["rows"].as_u64().unwrap() > 0);
}

#[test]
fn denied_rows_get_403_and_unknown_tables_404() {
    let server = start(config(&tutorial()));
    let a = get(server.addr(), "/api/tables/Sales?userid=nobody");
    assert_eq!(a.status, 403);
    assert_eq!(a.json()["reason"], "no-matching-row");
    let a = get(server.addr(), "/api/tables/Nope?userid=us-user");
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["error"], "unknown-table");
    let a = get(server.addr(), "/api/nothing-here");
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["error"], "not-found");
    let a = get(server.addr(), "/api/preview");
    assert_eq!(a.status, 405);
    assert_eq!(a.json()["error"], "method-not-allowed");
}

#[test]
fn audit_and_findings() {
    let dir = tempdir("audit");
    let script = dir.join("app.qvs");
    std::fs::write(
        &script,
        "Section Access;\nSA: LOAD * INLINE [\nACCESS, USERID, COUNTRY, REGION\nUSER, A, US, EAST\nUSER, B, XX, WEST\nADMIN, , , \n];\nSection Application;\nT: LOAD * INLINE [\nCOUNTRY, Region, V\nUS, East, 1\nUK, West, 2\n];\n",
    )
    .unwrap();
    let server = start(config(&script));
    let a = get(server.addr(), "/api/audit");
    assert_eq!(a.status, 200);
    let body = a.json();
    assert_eq!(body["tables"], json!({"T": 2}));
    let ids = body["identities"].as_array().unwrap();
    assert_eq!(ids.len(), 2, "{body}");
    assert_eq!(ids[0]["label"], "A");
    assert_eq!(ids[0]["decision"], "granted");
    let codes: Vec<&str> = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"unmatched-security-field"), "{codes:?}");
    assert!(codes.contains(&"blank-identity-cell"), "{codes:?}");
    assert!(codes.contains(&"strict-exclusion-denied"), "{codes:?}");
    assert_eq!(ids[1]["reason"], "strict-exclusion");
    let region = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "unmatched-security-field")
        .unwrap();
    assert!(
        region["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `Region`"),
        "{region}"
    );
    assert_eq!(region["location"]["file"], "app.qvs");
    let f = get(server.addr(), "/api/findings").json();
    assert_eq!(f["findings"], body["findings"]);
}

#[test]
fn concurrent_requests_each_get_their_own_answer() {
    let server = start(config(&tutorial()));
    let addr = server.addr();
    let users = [("us-user", "US"), ("uk-user", "UK"), ("de-user", "DE")];
    let threads: Vec<_> = (0..12)
        .map(|i| {
            let (user, country) = users[i % users.len()];
            std::thread::spawn(move || {
                for _ in 0..8 {
                    let a = if i % 2 == 0 {
                        post_token(addr, &token(user, NOW))
                    } else {
                        post_json(addr, &json!({"userid": user}))
                    };
                    assert_eq!(a.status, 200);
                    assert_eq!(a.json()["reduction"]["COUNTRY"], json!([country]));
                    let rows = get(addr, &format!("/api/tables/Sales?userid={user}")).json();
                    assert!(
                        rows["data"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .all(|r| r[0] == country)
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_foreign_host_header_is_refused_on_loopback() {
    let server = start(config(&tutorial()));
    let a = request(
        server.addr(),
        "GET",
        "/api/identities",
        &[("Host", "evil.example:8080")],
        b"",
    );
    assert_eq!(a.status, 421);
    assert_eq!(a.json()["error"], "bad-host");
    let a = request(
        server.addr(),
        "GET",
        "/api/identities",
        &[("Host", "localhost:1")],
        b"",
    );
    assert_eq!(a.status, 200);
}

#[test]
fn the_page_and_its_files_are_embedded() {
    let server = start(config(&tutorial()));
    let page = get(server.addr(), "/");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains(r#"<script src="/app.js""#));
    for (path, kind) in [
        ("/app.js", "text/javascript"),
        ("/app.css", "text/css"),
        ("/favicon.svg", "image/svg+xml"),
    ] {
        let a = get(server.addr(), path);
        assert_eq!(a.status, 200, "{path}");
        assert!(
            a.header("content-type").unwrap().starts_with(kind),
            "{path}"
        );
        assert!(!a.body.is_empty());
    }
}

#[test]
fn status_names_the_script_the_model_and_the_token_profile() {
    let server = start(config(&tutorial()));
    let s = get(server.addr(), "/api/status").json();
    assert_eq!(s["ok"], true);
    assert_eq!(s["generation"], 1);
    assert_eq!(s["error"], Value::Null);
    assert_eq!(s["model"]["tables"], json!({"Sales": 9}));
    assert_eq!(s["model"]["security_tables"], json!({"SA": 4}));
    assert_eq!(s["token"]["profile"], "engine");
    assert_eq!(s["token"]["accepts_unsigned"], false);
    assert_eq!(s["token"]["now"], NOW);
}

#[test]
fn a_broken_script_fails_start_without_watch_and_shows_with_it() {
    let dir = tempdir("broken");
    let script = dir.join("app.qvs");
    std::fs::write(
        &script,
        "Section Access;\nSA: LOAD * INLINE [\nACCESS, USERID\n",
    )
    .unwrap();
    match Server::start("127.0.0.1:0".parse().unwrap(), config(&script)) {
        Err(ServeError::Load(_)) => {}
        other => panic!("expected a load error, got {other:?}"),
    }
    let mut c = config(&script);
    c.watch = Some(Duration::from_millis(20));
    let server = start(c);
    let s = get(server.addr(), "/api/status").json();
    assert_eq!(s["ok"], false);
    assert_eq!(s["model"], Value::Null);
    assert!(
        s["error"]["rendered"].as_str().unwrap().contains("app.qvs"),
        "{s}"
    );
    let a = get(server.addr(), "/api/identities");
    assert_eq!(a.status, 503);
    assert_eq!(a.json()["error"], "not-loaded");
    // Fixing the file brings the model in.
    std::fs::write(&script, GOOD).unwrap();
    let s = wait_for(server.addr(), |s| s["ok"] == true);
    assert_eq!(s["generation"], 1);
}

const GOOD: &str = "Section Access;\nSA: LOAD * INLINE [\nACCESS, USERID, COUNTRY\nUSER, A, US\n];\nSection Application;\nT: LOAD * INLINE [\nCOUNTRY, V\nUS, 1\nUK, 2\n];\n";

#[test]
fn watch_reloads_on_change_and_keeps_the_last_good_model_on_a_broken_edit() {
    let dir = tempdir("watch");
    let script = dir.join("app.qvs");
    std::fs::write(&script, GOOD).unwrap();
    let mut c = config(&script);
    c.watch = Some(Duration::from_millis(20));
    let server = start(c);
    let addr = server.addr();
    assert_eq!(get(addr, "/api/status").json()["generation"], 1);

    // A broken edit: the error shows, the last good model keeps answering.
    std::fs::write(
        &script,
        "Section Access;\nSA: LOAD * INLINE [\nACCESS, USERID\n",
    )
    .unwrap();
    let s = wait_for(addr, |s| !s["error"].is_null());
    assert_eq!(s["generation"], 1);
    assert_eq!(s["ok"], false);
    assert!(s["model"].is_object());
    let a = post_json(addr, &json!({"userid": "a"}));
    assert_eq!(a.json()["reduction"], json!({"COUNTRY": ["US"]}));

    // A good edit: a new generation, the new rules apply. Saved in one
    // step (written aside, then renamed over), as editors do: a plain write
    // can be seen half done, and the first half of this script is a valid
    // script of its own (security table, no data), which would then be
    // generation 2.
    let aside = dir.join("app.qvs.saving");
    std::fs::write(&aside, GOOD.replace("USER, A, US", "USER, A, UK")).unwrap();
    std::fs::rename(&aside, &script).unwrap();
    let s = wait_for(addr, |s| s["generation"] == 2);
    assert_eq!(s["ok"], true);
    assert_eq!(s["error"], Value::Null);
    let a = post_json(addr, &json!({"userid": "a"}));
    assert_eq!(a.json()["reduction"], json!({"COUNTRY": ["UK"]}));
}

/// Polls `/api/status` until `done` holds (the watcher works on its own
/// clock; the deadline only bounds a failure).
fn wait_for(addr: SocketAddr, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = get(addr, "/api/status").json();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "status never changed: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "section-access-serve-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn who_answers_from_the_audit_and_says_what_is_wrong_with_the_question() {
    let server = start(config(&fixture("fixtures/example/app.qvs")));
    let addr = server.addr();
    let a = get(addr, "/api/who?field=REGION&value=NORTH&denied=1");
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let j = a.json();
    assert_eq!(j["table"], "Regions");
    let can: Vec<&str> = j["can"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["identity"]["userid"].as_str())
        .collect();
    assert!(can.contains(&"ANNA") && !can.contains(&"BOB"), "{j}");
    assert!(
        j["cannot"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["identity"]["userid"] == "BOB" && n["reason"] == "reduced-away")
    );
    let row = get(addr, "/api/who?table=Orders&row=1").json();
    assert_eq!(row["rows"], json!([1]));
    assert!(row["cannot"].is_null());
    assert_eq!(get(addr, "/api/who?field=NOPE&value=1").status, 404);
    assert_eq!(get(addr, "/api/who?table=Orders&row=999").status, 404);
    assert_bad_request(&get(addr, "/api/who?field=REGION"), "bad-query");
    assert_bad_request(&get(addr, "/api/who?row=x&table=Orders"), "bad-query");
    assert_bad_request(&get(addr, "/api/who?who=1"), "bad-query");
}

#[test]
fn explain_shows_the_reduced_model_and_the_matched_script_lines() {
    let server = start(config(&fixture("fixtures/example/app.qvs")));
    let addr = server.addr();
    let j = get(addr, "/api/explain?userid=anna").json();
    let region = j["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "REGION")
        .unwrap();
    assert_eq!(region["kind"], "reduction");
    let state = |v: &str| {
        region["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["value"] == v)
            .map(|x| x["state"].clone())
    };
    assert_eq!(state("NORTH"), Some(json!("selected")));
    assert_eq!(state("EAST"), Some(json!("excluded")));
    // A key field: customers of ANNA's regions are possible, others not.
    let keys: Vec<&Value> = j["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "key")
        .collect();
    assert!(!keys.is_empty());
    assert!(keys.iter().any(|f| {
        f["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["state"] == "possible")
    }));
    assert!(keys.iter().any(|f| {
        f["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["state"] == "excluded")
    }));
    let script = j["script"].as_array().unwrap();
    let hit = script
        .iter()
        .flat_map(|f| f["lines"].as_array().unwrap())
        .find(|l| l["matched"] == true)
        .unwrap();
    assert!(
        hit["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("anna"),
        "{hit}"
    );
    // The same line the preview's matched rows name.
    let preview = post_json(addr, &json!({"userid": "anna"})).json();
    assert_eq!(preview["matched_rows"][0]["line"], hit["line"]);
    // A denied identity: every value excluded.
    let denied = get(addr, "/api/explain?userid=nobody").json();
    assert!(
        denied["fields"][0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["state"] == "excluded")
    );
    assert_bad_request(&get(addr, "/api/explain?offset=1&userid=a"), "bad-query");
}

/// The server counts a preview's rows from per-value parts when it can:
/// every listed identity of the small app and of every access scenario gets
/// exactly the preview JSON a full evaluation gives.
#[test]
fn previews_counted_per_value_equal_a_full_evaluation() {
    use section_access::access::{Evaluator, PreviewReport};
    let mut scripts = vec![fixture("fixtures/apps/small/app.qvs")];
    scripts.extend(
        crate::common::fixture_folders("access")
            .into_iter()
            .map(|d| d.join("script.qvs")),
    );
    let mut checked = 0;
    for script in scripts {
        let server = start(config(&script));
        let addr = server.addr();
        let app = section_access::load::run_file(&script, &LoadOptions::default()).unwrap();
        let ev = Evaluator::new(&app, Options::default());
        for id in section_access::audit::identities(&app, &Options::default()) {
            let body = json!({
                "userid": id.userid.as_ref().map(|u| u.to_string()),
                "email": id.email.as_ref().map(|e| e.to_string()),
                "groups": id.groups.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
            });
            let got = post_json(addr, &body).json();
            let want =
                serde_json::to_value(PreviewReport::new(&app, &id, &ev.evaluate(&id))).unwrap();
            assert_eq!(got, want, "{}: {id:?}", script.display());
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} previews compared");
}
