//! The same answers at any thread count: `check`, `audit` and `preview`
//! print the same bytes and exit with the same code in a pool of one
//! thread and in a pool of four, on scripts large enough that the work is
//! really split (a generated security table of 150,000 rows).

use std::path::{Path, PathBuf};

use crate::common::{root, section_access};

/// A script whose INLINE security table has `rows` rows (a user and a
/// group each, a country of 200) and whose data has a row per country.
fn large_script(dir: &Path, rows: usize) -> PathBuf {
    let mut script =
        String::from("Section Access;\nSA:\nLOAD * INLINE [\nACCESS, USERID, GROUP, COUNTRY\n");
    script.push_str("ADMIN, ADMIN, *, *\n");
    for i in 0..rows {
        script.push_str(&format!(
            "USER, USER{i}, GROUP{}, C{:03}\n",
            i % 50,
            i % 200
        ));
    }
    script.push_str("];\nSection Application;\nData:\nLOAD * INLINE [\nCOUNTRY, X\n");
    for c in 0..200 {
        script.push_str(&format!("C{c:03}, {c}\n"));
    }
    script.push_str("];\n");
    let path = dir.join("large.qvs");
    std::fs::write(&path, script).unwrap();
    path
}

/// (exit code, stdout, stderr) of `section-access --threads N ARGS`.
fn at(threads: &str, args: &[&str]) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let o = section_access()
        .arg("--threads")
        .arg(threads)
        .args(args)
        .output()
        .unwrap();
    (o.status.code(), o.stdout, o.stderr)
}

#[test]
fn outputs_are_the_same_at_one_and_four_threads() {
    let dir = std::env::temp_dir().join(format!("sa-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let large = large_script(&dir, 150_000);
    let large = large.to_str().unwrap();
    let example = root().join("fixtures/example/app.qvs");
    let example = example.to_str().unwrap();
    let runs: [&[&str]; 6] = [
        &["check", large, "--format", "json"],
        &["audit", large, "--format", "json"],
        &[
            "preview", large, "--user", "USER7", "--group", "GROUP7", "--format", "json",
        ],
        &["check", example, "--format", "json"],
        &["audit", example, "--format", "json"],
        &["preview", example, "--user", "anna", "--format", "json"],
    ];
    for args in runs {
        let one = at("1", args);
        assert_eq!(
            one.0,
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&one.2)
        );
        assert!(!one.1.is_empty(), "{args:?} printed nothing");
        assert!(at("4", args) == one, "{args:?} differs at 4 threads");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_thread_count_out_of_range_is_a_usage_error() {
    for (n, says) in [
        ("0", "at least 1"),
        ("1000000", "at most 1024"),
        ("two", "1 to 1024"),
    ] {
        let (code, _, err) = at(n, &["check", "fixtures/example/app.qvs"]);
        assert_eq!(code, Some(2), "--threads {n}");
        let err = String::from_utf8_lossy(&err);
        assert!(
            err.contains("threads") && err.contains(says),
            "--threads {n}: {err}"
        );
    }
}
