//! Work over a range of indices split into pieces by rayon, as threads
//! become free: the one shape the large passes (grouping a million listed
//! identities, labelling ten million rows) share.

use std::ops::Range;

use rayon::iter::ParallelIterator;

/// `work` over `0..len`, in pieces that rayon splits off as threads are
/// free (a piece is cut in two only when it has at least `min` indices:
/// small inputs stay whole), the results joined in index order by `merge`.
///
/// `merge(work(a), work(b))` must equal `work(a ∪ b)` for adjacent `a`
/// before `b`: the answer is then the same whatever the pieces, so at any
/// number of threads.
pub(crate) fn fold<T: Send>(
    len: usize,
    min: usize,
    work: impl Fn(Range<usize>) -> T + Sync + Send,
    merge: impl Fn(T, T) -> T + Sync + Send,
) -> T {
    let min = min.max(2);
    rayon::iter::split(0..len, |r: Range<usize>| {
        if r.len() < min {
            return (r, None);
        }
        let mid = r.start + r.len() / 2;
        (r.start..mid, Some(mid..r.end))
    })
    .map(&work)
    .reduce_with(merge)
    .unwrap_or_else(|| work(0..0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_range_once_in_order() {
        for threads in [1, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for (len, min) in [(0, 0), (1, 0), (2, 0), (7, 0), (1000, 10), (5, 10)] {
                let all = pool.install(|| {
                    fold(
                        len,
                        min,
                        |r| r.collect::<Vec<_>>(),
                        |mut all, second| {
                            all.extend(second);
                            all
                        },
                    )
                });
                assert_eq!(all, (0..len).collect::<Vec<_>>(), "{len} {min} {threads}");
            }
        }
    }
}
