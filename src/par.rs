//! Work on two cores: the machines this runs on have few, and the large
//! passes (reading a big file, labelling ten million rows) split in two.

use std::ops::Range;

/// True when a second thread can run alongside this one.
pub(crate) fn available() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// `work` over `0..len`: on its two halves side by side when a second
/// core is there and `len` is at least `min`, else over the whole range.
/// The results come in range order (one or two of them).
pub(crate) fn in_halves<T: Send>(
    len: usize,
    min: usize,
    work: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    if len < min.max(2) || !available() {
        return vec![work(0..len)];
    }
    let mid = len / 2;
    std::thread::scope(|s| {
        let second = s.spawn(|| work(mid..len));
        let first = work(0..mid);
        match second.join() {
            Ok(second) => vec![first, second],
            Err(e) => std::panic::resume_unwind(e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_cover_the_range_once_in_order() {
        for (len, min) in [(0, 0), (1, 0), (2, 0), (7, 0), (1000, 10), (5, 10)] {
            let parts = in_halves(len, min, |r| r.collect::<Vec<_>>());
            let all: Vec<usize> = parts.iter().flatten().copied().collect();
            assert_eq!(all, (0..len).collect::<Vec<_>>(), "{len} {min}");
            if len < min.max(2) {
                assert_eq!(parts.len(), 1);
            }
        }
    }
}
