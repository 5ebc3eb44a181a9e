//! Cutting an INLINE text into cells and interning its columns over
//! rayon's pool.
//!
//! The text after the labels is cut at line ends into chunks of about
//! [`Plan`]'s size; a line is a record, so each chunk is cut on its own,
//! its first file line known from the line breaks before it. The chunks
//! are cut side by side while the column of most distinct values is
//! interned chunk by chunk as they come (each chunk cut once, by whichever
//! needs it first); the other columns are interned side by side once all
//! is cut. A column takes its cells of a chunk as it interns them and frees
//! them then (a million rows: 8 MB a column, not all held until the last
//! column is done). A column's ids are what one pass in row order gives, and a
//! column of a million user ids goes into one symbol table once, never
//! into pieces that must be joined.

use std::sync::OnceLock;

use rayon::iter::{
    IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator, ParallelIterator,
};

use super::{ColumnWork, Lines, column_order, newlines};
use crate::load::frame::FrameColumn;
use crate::model::RowOrigin;

/// INLINE texts from this size are cut in chunks.
const CHUNKED_FROM_BYTES: usize = 4 << 20;

/// Bytes of each chunk of a large text (each chunk ends at a line end).
const CHUNK_BYTES: usize = 1 << 20;

/// How a text is cut.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    /// Bytes of each chunk (the last may be shorter).
    chunk: usize,
}

impl Plan {
    /// One chunk.
    pub(super) fn whole() -> Self {
        Self { chunk: usize::MAX }
    }

    /// The plan for a text of `len` bytes: chunks when it is large.
    pub(super) fn for_text(len: usize) -> Self {
        if len >= CHUNKED_FROM_BYTES {
            Self { chunk: CHUNK_BYTES }
        } else {
            Self::whole()
        }
    }

    /// Chunks of `chunk` bytes (tests).
    #[cfg(test)]
    pub(super) fn chunks(chunk: usize) -> Self {
        Self { chunk }
    }
}

/// What a read gives: the chunks' lines in order, the rows' origins
/// (which the chunks do not keep), and the columns.
pub(super) struct Read<'f> {
    pub chunks: Vec<Lines<'f>>,
    pub origins: Vec<RowOrigin>,
    pub columns: Vec<FrameColumn>,
}

/// Cuts `text` from byte `start`, which is on file line `line`, into
/// chunks as `plan` says, each starting from `labels` (the lines that read
/// the names and skipped headers), then interns every column.
pub(super) fn read<'f>(
    text: &str,
    labels: &Lines<'f>,
    (start, line): (usize, u32),
    plan: Plan,
) -> Read<'f> {
    let ranges = cut_points(text, start, plan.chunk);
    // Each chunk's first file line: the line breaks before it, counted
    // side by side.
    let breaks: Vec<usize> = ranges
        .par_iter_ranges()
        // INVARIANT: cut_points cuts text at line ends, char boundaries
        // within it.
        .map(|r| newlines(&text[r]))
        .collect();
    let mut first_lines = Vec::with_capacity(ranges.len());
    let mut at = line;
    for &b in &breaks {
        first_lines.push(at);
        #[expect(
            clippy::expect_used,
            reason = "INVARIANT: a chunk's line breaks are at most its bytes, and the text is below u32::MAX bytes (inline::read)"
        )]
        let b = u32::try_from(b).expect("line breaks fit u32");
        at = at.saturating_add(b);
    }
    // Each chunk is cut into cells once, by whichever side needs it
    // first (`OnceLock`): the chunks side by side on one side, and on the
    // other the column of most distinct values interned chunk by chunk as
    // they are cut (a million user ids: the longest single job, started
    // at once rather than after all the cutting). With one worker, the
    // column side runs first and cuts every chunk itself, in order.
    let cut_one = |i: usize| {
        let mut lines = labels.fresh();
        if let (Some(range), Some(&first), Some(&breaks)) =
            (ranges.get(i), first_lines.get(i), breaks.get(i))
        {
            // At most a row per line: room for all, so no column is
            // copied as it grows.
            lines.reserve(breaks + 1);
            lines.feed(text, range, first);
        }
        lines
    };
    let cut: Vec<OnceLock<Lines<'f>>> = (0..ranges.len()).map(|_| OnceLock::new()).collect();
    let chunk = |i: usize| cut.get(i).map(|once| once.get_or_init(|| cut_one(i)));
    // Rows are at most the lines: room for all in one allocation.
    let most_rows = breaks.iter().sum::<usize>() + ranges.len();
    let intern = |c: usize, distinct: usize| {
        let mut column = ColumnWork::new(c, distinct, most_rows);
        for i in 0..ranges.len() {
            if let Some(lines) = chunk(i) {
                column.add(text, lines);
            }
        }
        column
    };
    // The columns in order of distinct values among the first chunk's
    // first cells, most first.
    let order = chunk(0)
        .map(|first| column_order(text, first))
        .unwrap_or_default();
    let (most, rest) = order
        .split_first()
        .map_or((None, &[][..]), |(m, r)| (Some(*m), r));
    let (most, rest) = rayon::join(
        || most.map(|(c, distinct)| intern(c, distinct)),
        || {
            (0..ranges.len()).into_par_iter().for_each(|i| {
                chunk(i);
            });
            rest.par_iter()
                .with_max_len(1)
                .map(|&(c, distinct)| intern(c, distinct))
                .collect::<Vec<ColumnWork>>()
        },
    );
    let mut columns: Vec<ColumnWork> = most.into_iter().chain(rest).collect();
    columns.sort_by_key(|w| w.c);
    // The side-by-side pass cut every chunk; one it had not would be cut
    // here into the same cells.
    let mut chunks: Vec<Lines<'f>> = cut
        .into_iter()
        .enumerate()
        .map(|(i, once)| once.into_inner().unwrap_or_else(|| cut_one(i)))
        .collect();
    // The chunks' origins in one vector, each chunk's freed once copied
    // (a million rows: not two copies at once).
    let rows = chunks.iter().map(|c| c.rows).sum();
    let mut origins = Vec::with_capacity(rows);
    for chunk in &mut chunks {
        origins.extend(std::mem::take(&mut chunk.origins));
    }
    Read {
        chunks,
        origins,
        columns: columns.into_iter().map(|w| w.col).collect(),
    }
}

/// The byte ranges of `text` from `start` in chunks of about `size`
/// bytes, each but the last ending just after a line break.
fn cut_points(text: &str, start: usize, size: usize) -> Ranges {
    let len = text.len();
    let mut ends = Vec::new();
    let mut at = start;
    while at < len {
        let end = match at.checked_add(size.max(1)).filter(|&e| e < len) {
            Some(e) => text
                .as_bytes()
                .get(e..)
                .and_then(|rest| memchr::memchr(b'\n', rest))
                .map_or(len, |nl| e + nl + 1),
            None => len,
        };
        ends.push(end);
        at = end;
    }
    // An empty text after the labels is one empty chunk.
    if ends.is_empty() {
        ends.push(len);
    }
    Ranges { start, ends }
}

/// Adjacent byte ranges: `start..ends[0]`, `ends[0]..ends[1]`, …
struct Ranges {
    start: usize,
    ends: Vec<usize>,
}

impl Ranges {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Range `i`.
    fn get(&self, i: usize) -> Option<std::ops::Range<usize>> {
        let from = match i.checked_sub(1) {
            Some(p) => *self.ends.get(p)?,
            None => self.start,
        };
        Some(from..*self.ends.get(i)?)
    }

    /// The ranges, in order, as a parallel iterator.
    fn par_iter_ranges(&self) -> impl IndexedParallelIterator<Item = std::ops::Range<usize>> + '_ {
        (0..self.ends.len()).into_par_iter().map(|i| {
            #[expect(clippy::indexing_slicing, reason = "INVARIANT: p < i < ends.len()")]
            let from = match i.checked_sub(1) {
                Some(p) => self.ends[p],
                None => self.start,
            };
            #[expect(clippy::indexing_slicing, reason = "INVARIANT: i < ends.len()")]
            let end = self.ends[i];
            from..end
        })
    }
}
