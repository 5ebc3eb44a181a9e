//! The generated benchmark app (`../shared/bench/gen.py`), created in
//! `target/bench-apps/NAME/` on first use and never committed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The app generated with `args` under `name`, created with python3 when
/// absent; `None` when python3 or gen.py is missing.
pub(crate) fn gen_app(name: &str, args: &[&str]) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("bench-apps")
        .join(name);
    if !dir.join("app.qvs").is_file() {
        let script = [
            root.join("../shared/bench/gen.py"),
            root.join("../../shared/bench/gen.py"),
        ]
        .into_iter()
        .find(|p| p.is_file())?;
        let ok = Command::new("python3")
            .arg(script)
            .arg(&dir)
            .args(args)
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
    }
    Some(dir.join("app.qvs"))
}
