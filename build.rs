//! Records the git commit the binary is built from, for `--version`
//! ("unknown" outside a git checkout, e.g. built from a crate archive).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=SECTION_ACCESS_COMMIT={commit}");
    // Built again when HEAD moves: a commit, a checkout, a fetch that
    // packs the refs. Only paths that exist: Cargo runs the script again on
    // every build for one that does not (a fresh repository has no
    // `packed-refs`), which would recompile the crate each time.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
