//! Work on two cores: the machines this runs on have few, and the large
//! passes (reading a big file, labelling ten million rows) split in two.

use std::ops::Range;

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

#[cfg(test)]
mod tests {
    use super::*;

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
