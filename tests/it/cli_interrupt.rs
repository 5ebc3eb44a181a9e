//! Ctrl-C: a long run stops with exit code 130 and leaves no half-written
//! output file.

use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::section_access;

/// A script that writes a small file, then loops for hours.
const LONG: &str = "Marker: LOAD 1 AS X AUTOGENERATE 1;\n\
                    STORE Marker INTO [marker.csv] (txt);\n\
                    FOR i = 1 TO 2000000000\n  LET j = i;\nNEXT\n";

/// Waits until `f` holds, at most `limit`; false when it never did.
fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

fn exit_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let mut status = None;
    wait_for(limit, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    status
}

fn part_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect()
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_long_run_with_130_and_no_partial_file() {
    let dir = std::env::temp_dir().join(format!("sa-interrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("long.qvs");
    std::fs::write(&script, LONG).unwrap();
    let mut child = section_access()
        .args(["check", "--write-stores", "--max-iterations", "4000000000"])
        .arg(&script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The marker is written once the run is under way (the handler is set
    // before the command starts).
    let marker = dir.join("marker.csv");
    assert!(
        wait_for(Duration::from_secs(60), || marker.exists()),
        "the run never wrote its first file"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended by itself"
    );
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = exit_within(&mut child, Duration::from_secs(10));
    let Some(status) = status else {
        let _ = child.kill();
        panic!("still running 10 s after Ctrl-C");
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
    // The file written before Ctrl-C is whole (Qlik's text format).
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "\u{feff}X\r\n1\r\n"
    );
    assert!(part_files(&dir).is_empty(), "{:?}", part_files(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}
