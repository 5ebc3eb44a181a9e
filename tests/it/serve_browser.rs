//! The `serve` page in headless Chromium: starts the built binary on the Qlik
//! Core tutorial, then runs `tests/browser/preview.test.mjs` (playwright-core
//! driving Debian's `/usr/bin/chromium`), which picks identities, pastes
//! tokens and checks the grid.
//!
//! Needs Chromium and the npm packages: `ci/browser-setup.sh` installs both.
//! Ignored by a plain `cargo test` so machines without a browser still run the
//! rest; `.ci/run` runs it with `--ignored`, and then a missing browser or
//! package fails the test with a message saying what to install.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use section_access::jwt::{self, MintClaims, Profile, SigningKey};

use crate::common::{root, tutorial};

/// The server's clock: tokens minted at this time are valid.
const NOW: i64 = 1_700_000_000;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn token(sub: &str, issued: i64) -> String {
    let key = SigningKey::secret("passw0rd").unwrap();
    jwt::mint(&Profile::default(), &key, &MintClaims::new(sub, issued)).unwrap()
}

#[test]
#[ignore = "needs Chromium and npm packages: run ci/browser-setup.sh, then `cargo test --test it serve_browser -- --ignored`"]
fn the_page_previews_identities_and_tokens_in_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| String::from("/usr/bin/chromium"));
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: run `ci/browser-setup.sh` (apt-get install -y chromium) or set CHROMIUM"
    );
    let browser_dir = root().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `ci/browser-setup.sh` (npm ci in tests/browser)"
    );

    let script = tutorial();
    let mut child = Command::new(env!("CARGO_BIN_EXE_section-access"))
        .args(["serve", "--port", "0", "--secret", "passw0rd", "--now"])
        .arg(NOW.to_string())
        .arg(&script)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Server(child);
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "serve printed `{url}`"
    );

    let shots = root().join("target/screenshots");
    let status = Command::new("node")
        .arg("preview.test.mjs")
        .current_dir(&browser_dir)
        .env("SERVE_URL", &url)
        .env("VALID_TOKEN", token("uk-user", NOW))
        .env("EXPIRED_TOKEN", token("uk-user", NOW - 3600))
        .env("SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .status()
        .expect("cannot run `node`: install Node.js (ci/browser-setup.sh says how)");
    assert!(status.success(), "the browser checks failed (see above)");
}
