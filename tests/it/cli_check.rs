//! `section-access check` against the built binary: what it reports, exit
//! codes, located errors, and that mangled scripts never crash it.

use std::path::PathBuf;
use std::process::Output;

use crate::common::{real_scripts, root, run, text};

/// The corpus scripts; none (with a skip note) without `../shared`.
fn corpus(test: &str) -> Vec<PathBuf> {
    let Some(dir) = real_scripts(test) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "qvs" || e == "txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_bundled_example_reports_its_tables_and_reduction_field() {
    let o = run(&["check", "fixtures/example/app.qvs", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["section_access"], true);
    assert_eq!(json["reduction_fields"], serde_json::json!(["REGION"]));
    let tables: Vec<(&str, u64)> = json["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        tables,
        [
            ("Regions", 5),
            ("Customers", 7),
            ("Orders", 10),
            ("Products", 4)
        ]
    );
    assert_eq!(json["security_tables"][0]["rows"], 8);
    // The auditors' group is reduced to a region without customers.
    let codes: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"reduced-to-nothing-denied"), "{codes:?}");
}

#[test]
fn fail_on_turns_findings_into_exit_4() {
    let o = run(&["check", "fixtures/example/app.qvs", "--fail-on", "warning"]);
    assert_eq!(o.status.code(), Some(4));
    let o = run(&["check", "fixtures/example/app.qvs", "--fail-on", "error"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn every_corpus_script_passes_check_syntax() {
    for file in corpus("every_corpus_script_passes_check_syntax") {
        let o = run(&["check", "--syntax", file.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            file.display(),
            text(&o.stderr)
        );
        assert!(text(&o.stdout).contains("syntax ok"));
    }
}

#[test]
fn a_corpus_script_stops_at_its_first_unreadable_source_with_its_place() {
    let Some(dir) = real_scripts("a_corpus_script_stops_at_its_first_unreadable_source") else {
        return;
    };
    let file = dir.join("iamdv__QlikView-Security-Masterclass__Multi_Field_Reduction_Solution.qvs");
    let o = run(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    // A QVD on the author's drive: read like any file, and not there.
    assert!(err.contains("load::missing-file"), "{err}");
    assert!(err.contains("Multi_Field_Reduction_Solution.qvs"), "{err}");
    assert!(err.contains(":37:7]"), "{err}");
    assert!(err.contains("Supplier.qvd"), "{err}");
    // Skipping unsupported sources goes past line 37; the tables those
    // loads would have made are missing later (a located error of its own).
    let o = run(&["check", file.to_str().unwrap(), "--allow-unsupported"]);
    let err = text(&o.stderr);
    assert!(!err.contains(":37:7]"), "{err}");
    assert!(
        o.status.code() == Some(0) || err.contains("load::unknown-table"),
        "{err}"
    );
}

#[test]
fn malformed_scripts_exit_1_with_a_caret_at_their_line() {
    let dir = root().join("fixtures/scripts/invalid");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "qvs") {
            continue;
        }
        n += 1;
        let name = path.file_name().unwrap().to_str().unwrap();
        let o = run(&["check", "--syntax", path.to_str().unwrap()]);
        // A statement that does not parse fails only when it runs (Qlik
        // parses a statement then): `--syntax` warns at its place, and the
        // run fails there.
        let o = if o.status.code() == Some(0) {
            let out = text(&o.stdout);
            assert!(
                out.contains(&format!("{}:", path.display()))
                    && out.contains("[script::invalid-statement]"),
                "{name}: {out}"
            );
            run(&["check", path.to_str().unwrap()])
        } else {
            o
        };
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{}: {err}", path.display());
        // The snippet header names the file with its line and column.
        let header = format!("{}:", path.display());
        assert!(
            err.contains(&header) && (err.contains("script::") || err.contains("load::parse")),
            "{name}: {err}"
        );
    }
    assert!(n >= 10, "only {n} invalid fixtures");
}

#[test]
fn a_syntax_error_is_reported_at_its_line_and_column() {
    let dir = std::env::temp_dir().join(format!("sa-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.qvs");
    std::fs::write(
        &file,
        "SET a = 1;\n\nT:\nLOAD x,\n  y z\nINLINE [\nx, y\n1, 2\n];\n",
    )
    .unwrap();
    // Qlik parses a statement when it runs it: `--syntax` warns, running fails.
    let o = run(&["check", "--syntax", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(out.contains("broken.qvs:5:5: expected"), "{out}");
    let o = run(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("broken.qvs:5:5]"), "{err}");
}

/// A small deterministic generator, so the mangled inputs are the same on
/// every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mangle(bytes: &[u8], rng: &mut Lcg) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.below(4) {
        0 => out.truncate(rng.below(out.len())),
        1 => {
            for _ in 0..8 {
                let i = rng.below(out.len());
                if let Some(b) = out.get_mut(i) {
                    *b = (rng.next() & 0xff) as u8;
                }
            }
        }
        2 => {
            // Delete a span (unbalances brackets, quotes, blocks).
            let a = rng.below(out.len());
            let b = (a + rng.below(200)).min(out.len());
            out.drain(a..b);
        }
        _ => {
            // Duplicate a span somewhere else.
            let a = rng.below(out.len());
            let b = (a + rng.below(300)).min(out.len());
            let piece = out[a..b].to_vec();
            let at = rng.below(out.len());
            out.splice(at..at, piece);
        }
    }
    out
}

fn assert_no_crash(o: &Output, what: &str) {
    let err = text(&o.stderr);
    assert!(
        matches!(o.status.code(), Some(0 | 1 | 3 | 4)),
        "{what}: exit {:?}\n{err}",
        o.status.code()
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
fn mangled_scripts_never_crash_the_binary() {
    let dir = std::env::temp_dir().join(format!("sa-mangle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut sources: Vec<PathBuf> = corpus("mangled_scripts_never_crash_the_binary (corpus part)");
    sources.push(root().join("fixtures/example/app.qvs"));
    let mut rng = Lcg(0x5eed);
    for (i, src) in sources.iter().enumerate() {
        let bytes = std::fs::read(src).unwrap();
        for round in 0..6 {
            let file = dir.join(format!("m{i}-{round}.qvs"));
            std::fs::write(&file, mangle(&bytes, &mut rng)).unwrap();
            let what = format!("{} round {round}", src.display());
            assert_no_crash(&run(&["check", "--syntax", file.to_str().unwrap()]), &what);
            assert_no_crash(
                &run(&[
                    "check",
                    file.to_str().unwrap(),
                    "--allow-unsupported",
                    "--lib",
                    &format!("data={}", example_dir().display()),
                ]),
                &what,
            );
        }
    }
}

fn example_dir() -> PathBuf {
    root().join("fixtures/example")
}

/// `--map-path` and `--lib` reach the loader from every command's line:
/// the server paths of the fixture read from folders here.
#[test]
fn server_paths_are_mapped_from_the_command_line() {
    let dir = root().join("fixtures/scripts/run/server-paths");
    let at = |rel: &str| format!("{}", dir.join(rel).display());
    let script = at("script.qvs");
    let unmapped = run(&["check", &script]);
    assert_eq!(unmapped.status.code(), Some(1));
    assert!(text(&unmapped.stderr).contains("--map-path"));
    let mapped = run(&[
        "check",
        &script,
        "--lib",
        &format!("Finance:DataFiles={}", at("fin")),
        "--map-path",
        &format!("C:\\Data={}", at("data")),
        "--map-path",
        &format!("C:/data/SALES={}", at("data/sales")),
        "--map-path",
        &format!("\\\\fileserver\\share={}", at("share")),
        "--map-path",
        &format!("C:\\Scripts={}", at("scripts")),
    ]);
    assert_eq!(mapped.status.code(), Some(0), "{}", text(&mapped.stderr));
    let bad = run(&["check", &script, "--map-path", "C:\\Data"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("PREFIX=DIR"));
}

#[test]
fn binary_script_stands_in_for_the_parent_app() {
    let dir = root().join("fixtures/scripts/run/binary-script");
    let script = dir.join("script.qvs");
    let parent = dir.join("parent/parent.qvs");
    let o = run(&["check", script.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("--binary-script"));
    let o = run(&[
        "check",
        script.to_str().unwrap(),
        "--binary-script",
        parent.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(out.contains("\"section_access\": true"), "{out}");
    assert!(out.contains("\"Regions\""), "{out}");
}

#[test]
fn sarif_from_check_and_audit_names_the_script_as_given() {
    let script = "fixtures/findings/cross-product/script.qvs";
    for command in ["check", "audit"] {
        let o = run(&[
            command,
            script,
            "--format",
            "sarif",
            "--docs-url",
            "https://example.org/findings.md",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(log["version"], "2.1.0");
        let results = log["runs"][0]["results"].as_array().unwrap();
        let cross = results
            .iter()
            .find(|r| r["ruleId"] == "cross-product")
            .unwrap_or_else(|| panic!("{command}: {results:?}"));
        let loc = &cross["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], script);
        assert_eq!(loc["region"]["startLine"], 5);
    }
    // SARIF reports findings: --syntax makes none; helpUri must be absolute.
    let o = run(&["check", script, "--syntax", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let o = run(&[
        "check",
        script,
        "--format",
        "sarif",
        "--docs-url",
        "docs/findings.md",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("absolute"), "{}", text(&o.stderr));
}
