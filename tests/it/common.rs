//! What several test modules need: the crate's root, the binary, and the
//! public material in `../shared`, which a fresh clone does not have.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use section_access::model::{Model, SymbolId, Value};

/// The repository root (where `Cargo.toml` is).
pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The script of the Qlik Core tutorial scenario, the example most tests
/// of the commands and the server run on.
pub(crate) fn tutorial() -> PathBuf {
    root().join("fixtures/access/qlik-core-tutorial/script.qvs")
}

/// The `section-access` binary, run from the repository root.
pub(crate) fn section_access() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_section-access"));
    command.current_dir(root()).env("NO_COLOR", "1");
    command
}

/// `section-access ARGS` from the repository root.
pub(crate) fn run(args: &[&str]) -> Output {
    section_access().args(args).output().unwrap()
}

/// Output bytes as text (lossy: a test asserts on it, it never decodes).
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Stdout as UTF-8 text (the commands print nothing else).
pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The folder `rel` of the public material in `shared/`, which sits beside
/// the repository root (`../shared`; `../../shared` from a git worktree one
/// level deeper). CI has it; a fresh clone does not, and then the test
/// that asked says it skips, on the terminal (past the test harness's
/// capture, so the skip shows without `--nocapture`), and gets `None`.
pub(crate) fn shared(rel: &str, test: &str) -> Option<PathBuf> {
    let found = shared_if_there(rel);
    if found.is_none() {
        // Ignoring a failed write: the skip note is a courtesy, not a result.
        let note = format!("\nskipping {test}: ../shared/{rel} is not beside the repository\n");
        let _ = std::io::stderr().write_all(note.as_bytes());
    }
    found
}

/// A fresh, empty folder `sa-MODULE-PID-TEST` in the temporary folder.
pub(crate) fn fresh_dir(module: &str, test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sa-{module}-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// App S (`../shared/bench/gen.py` with its defaults), generated into
/// `dir`; `None` (with a skip note for `test`) without `../shared`.
pub(crate) fn app_s(dir: &Path, test: &str) -> Option<PathBuf> {
    let gen_py = shared("bench/gen.py", test)?;
    let ok = std::process::Command::new("python3")
        .arg(&gen_py)
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "gen.py failed");
    Some(dir.join("app.qvs"))
}

/// The folders under `fixtures/KIND/`, sorted: one fixture each.
pub(crate) fn fixture_folders(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures").join(kind))
        .unwrap_or_else(|e| panic!("fixtures/{kind}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The folder `rel` of `shared/` when it is there, without a note: for
/// tests that use it to widen their inputs, not as their subject.
pub(crate) fn shared_if_there(rel: &str) -> Option<PathBuf> {
    ["../shared", "../../shared"]
        .iter()
        .map(|s| root().join(s).join(rel))
        .find(|p| p.exists())
}

/// The folder of the real Qlik scripts, `../shared/corpus/real-scripts`; `None`
/// (and a skip note) without `../shared`.
pub(crate) fn real_scripts(test: &str) -> Option<PathBuf> {
    shared("corpus/real-scripts", test)
}

/// Table `name` of model `m`: its field names and each row's values
/// (NULL as [`Value::Null`]).
pub(crate) fn table(m: &Model, name: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    let t = m.table(name).unwrap_or_else(|| panic!("no table {name}"));
    let fields = t
        .fields()
        .map(|f| m.field_name(f).unwrap().as_str().to_string())
        .collect();
    let rows = (0..t.len())
        .map(|r| {
            t.columns()
                .iter()
                .map(|c| match c.ids[r] {
                    SymbolId::NULL => Value::Null,
                    id => m.value(c.field, id).unwrap(),
                })
                .collect()
        })
        .collect();
    (fields, rows)
}

/// [`table`] with each value as its text (NULL as `None`).
pub(crate) fn table_texts(m: &Model, name: &str) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let (fields, rows) = table(m, name);
    let rows = rows
        .into_iter()
        .map(|row| {
            row.iter()
                .map(|v| (!v.is_null()).then(|| v.text().into_owned()))
                .collect()
        })
        .collect();
    (fields, rows)
}
