//! Output files written whole or not at all: the bytes go to a temporary
//! file beside the target, renamed over it once complete. While a file is
//! being written its temporary path is registered, so an interrupted command
//! (Ctrl-C: the CLI calls [`remove_in_flight`] before it exits) leaves no
//! half-written file behind, only the targets that were complete.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files being written.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn in_flight() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves a list still worth cleaning.
    IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The temporary file beside `path` (same folder, so the rename is atomic).
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(format!(".{}.part", std::process::id()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` through a temporary file renamed over it.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path(path);
    in_flight().push(temp.clone());
    let result = std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    in_flight().retain(|p| *p != temp);
    result
}

/// Removes the temporary files being written (the process is about to
/// stop in the middle of writing them).
pub fn remove_in_flight() {
    for p in in_flight().drain(..) {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_whole_and_no_temporary_is_left() {
        let dir = std::env::temp_dir().join(format!("sa-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|_| unreachable!());
        let path = dir.join("out.txt");
        write(&path, b"one").unwrap_or_else(|_| unreachable!());
        write(&path, b"two").unwrap_or_else(|_| unreachable!());
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&b"two"[..]));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(names.len(), 1);
        assert!(in_flight().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_temporary_file_sits_beside_the_target() {
        let t = temp_path(Path::new("/a/b/out.csv"));
        assert_eq!(t.parent(), Some(Path::new("/a/b")));
        assert!(t.to_string_lossy().ends_with(".part"));
    }
}
