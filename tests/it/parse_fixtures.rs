//! One harness for `fixtures/scripts/{valid,invalid}/*.qvs`: a valid script
//! is snapshotted as its AST (JSON) and warnings; an invalid one as its
//! rendered diagnostic (no colour, width 80). A new test is a new file.

use std::path::{Path, PathBuf};

use section_access::script::source::SourceId;
use section_access::script::{decode, parse};
use serde_json::json;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/scripts")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "qvs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_str().unwrap().to_owned()
}

fn render(e: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(80)
        .render_report(&mut out, e)
        .unwrap();
    out
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scripts/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn valid_scripts_parse_to_their_snapshot() {
    for path in fixtures("valid") {
        let name = stem(&path);
        let text = decode(std::fs::read(&path).unwrap());
        let parsed = match parse(SourceId(0), &text) {
            Ok(p) => p,
            Err(e) => panic!(
                "{name}:\n{}",
                render(&e.with_source_name(format!("valid/{name}.qvs")))
            ),
        };
        let warnings: Vec<_> = parsed
            .warnings
            .iter()
            .map(|w| json!({"code": w.code, "message": w.message, "at": &text[w.span.range()]}))
            .collect();
        let value = json!({"body": parsed.script.body, "warnings": warnings});
        settings().bind(|| insta::assert_json_snapshot!(format!("valid__{name}"), value));
    }
}

#[test]
fn invalid_scripts_fail_with_their_snapshot() {
    for path in fixtures("invalid") {
        let name = stem(&path);
        let text = decode(std::fs::read(&path).unwrap());
        // A statement that does not parse fails when it runs (Qlik parses a
        // statement only then): its error is the snapshot too.
        let e = match parse(SourceId(0), &text) {
            Err(e) => e,
            Ok(p) => p
                .first_error(&text)
                .unwrap_or_else(|| panic!("{name}: parsed, but should fail")),
        };
        let rendered = render(&e.with_source_name(format!("invalid/{name}.qvs")));
        settings().bind(|| insta::assert_snapshot!(format!("invalid__{name}"), rendered));
    }
}
