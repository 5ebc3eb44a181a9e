//! Work on two cores: the machines this runs on have few, and the large
//! passes (reading a big file, labelling ten million rows) split in two.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

/// True when a second thread can run alongside this one.
pub(crate) fn available() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// `work` over `0..len`: on its two halves side by side when a second
/// core is there and `len` is at least `min`, the second half's result
/// then folded into the first's by `join`; else over the whole range.
pub(crate) fn in_halves<T: Send>(
    len: usize,
    min: usize,
    work: impl Fn(Range<usize>) -> T + Sync,
    join: impl FnOnce(&mut T, T),
) -> T {
    if len < min.max(2) || !available() {
        return work(0..len);
    }
    let mid = len / 2;
    std::thread::scope(|s| {
        let second = s.spawn(|| work(mid..len));
        let mut first = work(0..mid);
        join(&mut first, joined(second));
        first
    })
}

/// The result of a scoped thread; its panic, if it panicked, carried on
/// into the caller.
pub(crate) fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match handle.join() {
        Ok(t) => t,
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// Files from this size are read in two halves side by side.
const READ_HALVES_FROM: u64 = 4 << 20;

/// The bytes of the file at `path`, as [`std::fs::read`] gives them. A
/// large file is read in two halves side by side: most of the time goes
/// into the first touch of each page of the buffer, not the copy, and the
/// two threads share that (a 23 MB script: 15 -> 11 ms).
pub(crate) fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let len = std::fs::metadata(path)?.len();
    match usize::try_from(len) {
        // A file that shrank meanwhile ends a half early: read it whole.
        Ok(n) if len >= READ_HALVES_FROM && available() => {
            read_halves(path, n).or_else(|_| std::fs::read(path))
        }
        _ => std::fs::read(path),
    }
}

/// The first `len` bytes of the file at `path`, in two halves side by side,
/// then whatever it grew by meanwhile.
fn read_halves(path: &Path, len: usize) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    let (head, tail) = bytes.split_at_mut(len / 2);
    let mid = u64::try_from(head.len()).map_err(io::Error::other)?;
    let mut file = File::open(path)?;
    std::thread::scope(|s| {
        let second = s.spawn(|| -> io::Result<()> {
            let mut file = File::open(path)?;
            file.seek(SeekFrom::Start(mid))?;
            file.read_exact(tail)
        });
        let first = file.read_exact(head);
        joined(second).and(first)
    })?;
    file.seek(SeekFrom::Start(
        u64::try_from(len).map_err(io::Error::other)?,
    ))?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_read_in_halves_is_the_file() {
        let dir = std::env::temp_dir().join(format!("sa-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        for len in [0, 5, READ_HALVES_FROM as usize + 3] {
            let path = dir.join(format!("{len}.bin"));
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &bytes).unwrap_or_default();
            assert_eq!(read_file(&path).ok(), Some(bytes.clone()), "{len}");
            assert_eq!(read_halves(&path, len).ok(), Some(bytes), "{len}");
            // Grown since its size was taken: the rest is read too.
            if len > 0 {
                let head = read_halves(&path, len - 1).ok();
                assert_eq!(head.map(|b| b.len()), Some(len), "{len}");
            }
        }
        assert!(read_file(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }

    #[test]
    fn halves_cover_the_range_once_in_order() {
        for (len, min) in [(0, 0), (1, 0), (2, 0), (7, 0), (1000, 10), (5, 10)] {
            let mut joins = 0;
            let all = in_halves(
                len,
                min,
                |r| r.collect::<Vec<_>>(),
                |all, second| {
                    joins += 1;
                    all.extend(second);
                },
            );
            assert_eq!(all, (0..len).collect::<Vec<_>>(), "{len} {min}");
            let split = len >= min.max(2) && available();
            assert_eq!(joins, usize::from(split), "{len} {min}");
        }
    }
}
