//! A fixed-size set of small integers (row numbers, symbol ids).

/// A set of integers below a fixed bound, one bit each.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct BitSet {
    words: Vec<u64>,
    len: usize,
}

impl BitSet {
    /// An empty set for integers below `len`.
    pub fn new(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// A set holding every integer below `len`.
    pub fn full(len: usize) -> Self {
        let mut s = Self {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        s.clear_tail();
        s
    }

    /// The bound the set was made for.
    pub fn capacity(&self) -> usize {
        self.len
    }

    /// Adds `i` (ignored when out of bounds).
    pub fn insert(&mut self, i: usize) {
        if i < self.len
            && let Some(w) = self.words.get_mut(i / 64)
        {
            *w |= 1 << (i % 64);
        }
    }

    /// Removes `i`.
    pub fn remove(&mut self, i: usize) {
        if let Some(w) = self.words.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }

    /// True when `i` is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Number of members.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// True when the set has no member.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Keeps only the members for which `keep` is true; true if any was
    /// removed.
    pub fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) -> bool {
        let mut changed = false;
        for (wi, w) in self.words.iter_mut().enumerate() {
            let mut bits = *w;
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if !keep(wi * 64 + b) {
                    *w &= !(1 << b);
                    changed = true;
                }
            }
        }
        changed
    }

    /// [`BitSet::retain`] for a `keep` that may run on several threads at
    /// once: the words in pieces side by side (the same set at any thread
    /// count).
    pub fn par_retain(&mut self, keep: impl Fn(usize) -> bool + Sync) -> bool {
        use rayon::prelude::*;
        /// Words a piece of work takes (65,536 members).
        const PIECE: usize = 1024;
        if self.words.len() <= PIECE {
            return self.retain(keep);
        }
        self.words
            .par_chunks_mut(PIECE)
            .enumerate()
            .map(|(p, words)| {
                let mut changed = false;
                for (i, w) in words.iter_mut().enumerate() {
                    let base = (p * PIECE + i) * 64;
                    let mut bits = *w;
                    while bits != 0 {
                        let b = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        if !keep(base + b) {
                            *w &= !(1 << b);
                            changed = true;
                        }
                    }
                }
                changed
            })
            .reduce(|| false, |a, b| a || b)
    }

    /// The set (for integers below `len`) of `image(m)` for each member `m`
    /// that has one, the members taken in pieces side by side (the same
    /// set at any thread count).
    pub fn par_image(&self, len: usize, image: impl Fn(usize) -> Option<usize> + Sync) -> BitSet {
        use rayon::prelude::*;
        /// Words a piece of work takes (65,536 members).
        const PIECE: usize = 1024;
        if self.words.len() <= PIECE {
            // One piece: no second set to make and merge.
            let mut out = BitSet::new(len);
            for m in self.iter() {
                if let Some(j) = image(m) {
                    out.insert(j);
                }
            }
            return out;
        }
        self.words
            .par_chunks(PIECE)
            .enumerate()
            .fold(
                || BitSet::new(len),
                |mut out, (p, words)| {
                    for (i, &w) in words.iter().enumerate() {
                        let base = (p * PIECE + i) * 64;
                        let mut bits = w;
                        while bits != 0 {
                            let b = bits.trailing_zeros() as usize;
                            bits &= bits - 1;
                            if let Some(j) = image(base + b) {
                                out.insert(j);
                            }
                        }
                    }
                    out
                },
            )
            .reduce(
                || BitSet::new(len),
                |mut a, b| {
                    a.union_with(&b);
                    a
                },
            )
    }

    /// Keeps only members also in `other`; true if anything changed.
    pub fn intersect_with(&mut self, other: &BitSet) -> bool {
        let mut changed = false;
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            let n = *w & o;
            changed |= n != *w;
            *w = n;
        }
        // `other` has no member past its words.
        for w in self.words.iter_mut().skip(other.words.len()) {
            changed |= *w != 0;
            *w = 0;
        }
        changed
    }

    /// Adds every member of `other`.
    pub fn union_with(&mut self, other: &BitSet) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= o;
        }
        self.clear_tail();
    }

    /// Number of integers in at least one of `sets`, without building
    /// their union (an audit asks this once per distinct grant). Members
    /// beyond a set's bound are never stored, so the shortest words count.
    pub fn union_count(sets: &[&BitSet]) -> usize {
        const BLOCK: usize = 64;
        let words = sets.iter().map(|s| s.words.len()).max().unwrap_or(0);
        let mut acc = [0u64; BLOCK];
        let mut n = 0;
        for start in (0..words).step_by(BLOCK) {
            acc.fill(0);
            for s in sets {
                // A set of a smaller bound has no member from here.
                let block = s.words.get(start..).unwrap_or_default();
                for (a, w) in acc.iter_mut().zip(block) {
                    *a |= w;
                }
            }
            n += acc.iter().map(|w| w.count_ones() as usize).sum::<usize>();
        }
        n
    }

    /// The members, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(wi * 64 + bit)
            })
        })
    }

    fn clear_tail(&mut self) {
        let rem = self.len % 64;
        if rem != 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << rem) - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_retain_and_image_are_the_sequential_ones() {
        for len in [0usize, 70, 64 * 1024, 64 * 1024 * 3 + 17] {
            let mut a = BitSet::full(len);
            a.retain(|i| !i.is_multiple_of(3));
            let mut b = BitSet::full(len);
            assert_eq!(b.par_retain(|i| !i.is_multiple_of(3)), len > 0);
            assert_eq!(a, b);
            assert!(!b.par_retain(|i| !i.is_multiple_of(3)));
            let image = |i: usize| (!i.is_multiple_of(5)).then_some(i / 7);
            let mut want = BitSet::new(len / 7 + 1);
            for m in a.iter() {
                if let Some(j) = image(m) {
                    want.insert(j);
                }
            }
            assert_eq!(a.par_image(len / 7 + 1, image), want);
        }
    }

    #[test]
    fn union_count_is_the_count_of_the_union() {
        // Sizes across the 64-word block, sets of different bounds.
        for (lens, step) in [
            ([10, 10, 10], 3),
            ([5000, 4097, 64], 7),
            ([4096, 4160, 1], 5),
        ] {
            let sets: Vec<BitSet> = lens
                .iter()
                .zip(0usize..)
                .map(|(&len, k)| {
                    let mut s = BitSet::new(len);
                    for i in (k..len).step_by(step + k) {
                        s.insert(i);
                    }
                    s
                })
                .collect();
            let refs: Vec<&BitSet> = sets.iter().collect();
            let mut union = BitSet::new(lens.iter().copied().max().unwrap_or(0));
            for s in &sets {
                for i in s.iter() {
                    union.insert(i);
                }
            }
            assert_eq!(BitSet::union_count(&refs), union.count(), "{lens:?}");
        }
        assert_eq!(BitSet::union_count(&[]), 0);
    }

    #[test]
    fn set_operations() {
        let mut a = BitSet::new(130);
        for i in [0, 63, 64, 129, 500] {
            a.insert(i);
        }
        assert_eq!(a.iter().collect::<Vec<_>>(), [0, 63, 64, 129]);
        assert_eq!(a.count(), 4);
        let full = BitSet::full(130);
        assert_eq!(full.count(), 130);
        let mut b = full.clone();
        assert!(b.intersect_with(&a));
        assert_eq!(b, a);
        assert!(!b.intersect_with(&a));
        b.remove(63);
        assert!(!b.contains(63) && b.contains(64));
        let mut c = BitSet::new(130);
        c.union_with(&full);
        assert_eq!(c.count(), 130);
        assert!(BitSet::new(5).is_empty());
    }
}
