//! Cutting an INLINE text into cells and interning its columns, on one
//! thread or two.
//!
//! The text after the labels is cut into chunks of whole lines, one chunk
//! at a time and in order. A column is interned chunk after chunk, by one
//! thread at a time, so its ids are what one pass gives; different columns
//! and the cutting of later chunks go on side by side. Each thread, when
//! free, takes the first of: the next chunk of the column with the most
//! distinct values whose chunk is ready, the cutting of the next chunk,
//! waiting. A column of a million user ids is thus interned while the rest
//! of the text is still being cut, and the other columns fill the gaps.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::{ColumnWork, Lines, column_order, newlines};
use crate::load::frame::FrameColumn;
use crate::model::RowOrigin;

/// INLINE texts at least this large are read on two threads.
const TWO_THREADS_BYTES: usize = 4 << 20;

/// How a text is cut and read.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    /// Threads at work: one or two.
    threads: usize,
    /// Bytes of the first chunk, whose cells choose the column order: small,
    /// so the second thread starts early.
    first: usize,
    /// Bytes of each later chunk (each chunk ends at the end of a line).
    rest: usize,
}

impl Plan {
    /// One chunk, one thread.
    pub(super) fn whole() -> Self {
        Self {
            threads: 1,
            first: usize::MAX,
            rest: usize::MAX,
        }
    }

    /// The plan for a text of `len` bytes: chunks on two threads when it
    /// is large and a second core is there.
    pub(super) fn for_text(len: usize, two_cores: bool) -> Self {
        if two_cores && len >= TWO_THREADS_BYTES {
            Self {
                threads: 2,
                first: 64 << 10,
                rest: 1 << 20,
            }
        } else {
            Self::whole()
        }
    }

    /// Chunks of `first`, then `rest` bytes, on `threads` threads (tests).
    #[cfg(test)]
    pub(super) fn chunks(threads: usize, first: usize, rest: usize) -> Self {
        Self {
            threads,
            first,
            rest,
        }
    }
}

/// What a read gives: the chunks' lines in order, the rows' origins
/// (which the chunks do not keep), and the columns.
pub(super) struct Read<'f> {
    pub chunks: Vec<Arc<Lines<'f>>>,
    pub origins: Vec<RowOrigin>,
    pub columns: Vec<FrameColumn>,
}

/// The shared state of a read.
pub(super) struct Board<'t, 'f> {
    text: &'t str,
    /// The lines that read the labels: names and skipped headers, which
    /// every chunk starts from.
    labels: &'t Lines<'f>,
    plan: Plan,
    state: Mutex<State<'f>>,
    changed: Condvar,
}

/// What is cut and interned so far.
struct State<'f> {
    chunks: Vec<Arc<Lines<'f>>>,
    /// Where the next chunk starts (byte, file line); `None` while a
    /// thread cuts it, and once all is cut.
    next_cut: Option<(usize, u32)>,
    /// The origins of the rows cut so far, in one vector that each cut
    /// extends (not one per chunk, to be joined at the end).
    origins: Vec<RowOrigin>,
    all_cut: bool,
    /// Columns no thread holds, by rank.
    idle: Vec<ColumnWork>,
    done: Vec<ColumnWork>,
    /// A thread panicked: the others stop rather than wait for it.
    failed: bool,
}

impl<'t, 'f> Board<'t, 'f> {
    /// A read of `text` from byte `start`, which is on file line `line`.
    pub(super) fn new(
        text: &'t str,
        labels: &'t Lines<'f>,
        (start, line): (usize, u32),
        plan: Plan,
    ) -> Self {
        let state = State {
            chunks: Vec::new(),
            next_cut: Some((start, line)),
            origins: Vec::new(),
            all_cut: false,
            idle: Vec::new(),
            done: Vec::new(),
            failed: false,
        };
        Self {
            text,
            labels,
            plan,
            state: Mutex::new(state),
            changed: Condvar::new(),
        }
    }

    /// Cuts and interns everything.
    pub(super) fn run(self) -> Read<'f> {
        if self.plan.threads > 1 {
            std::thread::scope(|s| {
                let other = s.spawn(|| self.work());
                self.work();
                crate::par::joined(other);
            });
        } else {
            self.work();
        }
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let mut done = state.done;
        done.sort_by_key(|w| w.c);
        Read {
            chunks: state.chunks,
            origins: state.origins,
            columns: done.into_iter().map(|w| w.col).collect(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<'f>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One thread's share: steps until nothing is left to take.
    fn work(&self) {
        let _stop = StopOthers(self);
        let mut state = self.lock();
        loop {
            if state.failed {
                return;
            }
            let ready = state.idle.iter().position(|w| w.next < state.chunks.len());
            if let Some(i) = ready {
                let mut column = state.idle.remove(i);
                let chunk = state.chunks.get(column.next).map(Arc::clone);
                drop(state);
                if let Some(chunk) = chunk {
                    column.add(self.text, &chunk);
                }
                column.next += 1;
                state = self.lock();
                state.put_back(column);
            } else if let Some((start, line)) = state.next_cut.take() {
                let first = state.chunks.is_empty();
                let origins = std::mem::take(&mut state.origins);
                drop(state);
                let (mut chunk, end, next) = self.cut(start, line, first, origins);
                state = self.lock();
                state.origins = std::mem::take(&mut chunk.origins);
                if first {
                    let expected = self.expected_rows(&chunk, start..end);
                    state.origins.reserve(expected);
                    state.idle = column_order(self.text, &chunk)
                        .into_iter()
                        .enumerate()
                        .map(|(rank, (c, distinct))| ColumnWork::new(c, rank, distinct, expected))
                        .collect();
                }
                state.chunks.push(Arc::new(chunk));
                state.next_cut = next;
                if next.is_none() {
                    state.all_cut = true;
                    let caught_up = std::mem::take(&mut state.idle);
                    for column in caught_up {
                        state.put_back(column);
                    }
                }
            } else if state.all_cut && state.idle.is_empty() {
                return;
            } else {
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            self.changed.notify_all();
        }
    }

    /// Cuts the chunk starting at byte `start` (file line `line`), its
    /// rows' origins going on after `origins`; also gives where the chunk
    /// ends and where the next one starts, if any.
    fn cut(
        &self,
        start: usize,
        line: u32,
        first: bool,
        origins: Vec<RowOrigin>,
    ) -> (Lines<'f>, usize, Option<(usize, u32)>) {
        let size = if first {
            self.plan.first
        } else {
            self.plan.rest
        };
        let len = self.text.len();
        let end = match start.checked_add(size).filter(|&e| e < len) {
            Some(at) => self
                .text
                .as_bytes()
                .get(at..)
                .and_then(|rest| memchr::memchr(b'\n', rest))
                .map_or(len, |nl| at + nl + 1),
            None => len,
        };
        let breaks = newlines(self.text.get(start..end).unwrap_or_default());
        let mut lines = self.labels.fresh();
        lines.origins = origins;
        // At most a row per line: room for all, so no column is copied
        // as it grows.
        lines.reserve(breaks + 1);
        lines.feed(self.text, start..end, line);
        let line = line.saturating_add(u32::try_from(breaks).unwrap_or(u32::MAX));
        (lines, end, (end < len).then_some((end, line)))
    }

    /// Rows the whole text is expected to hold, from its first chunk, cut
    /// from bytes `cut`: a column's room is reserved once.
    fn expected_rows(&self, first: &Lines, cut: std::ops::Range<usize>) -> usize {
        let rest = self.text.len().saturating_sub(cut.start);
        let bytes = cut.len().max(1);
        if bytes >= rest {
            return first.rows;
        }
        // A sixteenth more: the first lines may be longer than the rest.
        let rows = first.rows.saturating_mul(rest) / bytes;
        rows.saturating_add(rows / 16)
    }
}

impl State<'_> {
    /// A column back from a step: done once it has every chunk of a text
    /// cut to the end, else waiting for the next, by rank.
    fn put_back(&mut self, column: ColumnWork) {
        if self.all_cut && column.next >= self.chunks.len() {
            self.done.push(column);
        } else {
            let at = self.idle.partition_point(|w| w.rank < column.rank);
            self.idle.insert(at, column);
        }
    }
}

/// On a panic in one thread, tells the other not to wait for it.
struct StopOthers<'b, 't, 'f>(&'b Board<'t, 'f>);

impl Drop for StopOthers<'_, '_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().failed = true;
            self.0.changed.notify_all();
        }
    }
}
