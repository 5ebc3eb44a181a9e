//! Limits that keep a runaway script from taking the machine: the most
//! rows a JOIN, a KEEP, a generating load (`AUTOGENERATE`, `WHILE`) or a
//! reshaping prefix may make, checked from counts *before* anything is
//! built, so a cartesian product of two large tables is refused at once
//! with its size.
//!
//! A KEEP only removes rows: it cannot pass a limit its two tables were
//! already held to.
//!
//! The limit is `--max-rows` ([`LoadOptions::max_rows`]) or, by default,
//! the rows that fit in half the machine's memory: on Linux the
//! `MemTotal` line of `/proc/meminfo`; where that cannot be read, a
//! budget of 8 GiB is assumed. A row of `n` fields is counted as
//! `4 n + 16` bytes (a 32-bit symbol id per field, and the row's share of
//! the work lists), an estimate that errs low rather than high: the limit
//! is there to stop a product of millions by millions, not a table that
//! is merely big.
//!
//! [`LoadOptions::max_rows`]: crate::load::LoadOptions::max_rows

use std::sync::OnceLock;

use crate::script::source::Span;

use super::{R, Runner};
use crate::load::error::{Fail, LoadErrorKind};

/// The budget where the machine's memory cannot be read.
const FALLBACK_BYTES: u64 = 8 << 30;

/// Half the machine's memory, in bytes (read once).
fn memory_budget() -> u64 {
    static BUDGET: OnceLock<u64> = OnceLock::new();
    *BUDGET.get_or_init(|| total_memory().unwrap_or(FALLBACK_BYTES * 2) / 2)
}

/// `MemTotal` of `/proc/meminfo` in bytes (Linux); `None` elsewhere.
fn total_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Bytes one row of `fields` fields is counted for.
fn row_bytes(fields: usize) -> u64 {
    (fields as u64).saturating_mul(4).saturating_add(16)
}

impl Runner<'_> {
    /// The most rows of `fields` fields a result may have, and whether the
    /// limit was given (`--max-rows`) rather than taken from the memory.
    pub(super) fn row_limit(&self, fields: usize) -> (usize, bool) {
        match self.opts.max_rows {
            Some(n) => (n, true),
            None => {
                let rows = memory_budget() / row_bytes(fields);
                (usize::try_from(rows).unwrap_or(usize::MAX), false)
            }
        }
    }

    /// How the limit came about and how to raise it (a help line).
    pub(super) fn limit_help(&self, limit: usize, given: bool) -> String {
        if given {
            format!(
                "the limit is `--max-rows {limit}`; raise it if the result is meant to be this large"
            )
        } else {
            format!(
                "the limit, {limit} rows, is what fits in half this machine's memory; `--max-rows N` sets another"
            )
        }
    }

    /// An error at `span` when `rows` rows of `fields` fields would pass the
    /// limit; `what` names what would make them.
    pub(super) fn check_rows(&self, rows: usize, fields: usize, span: Span, what: &str) -> R<()> {
        let (limit, given) = self.row_limit(fields);
        if rows <= limit {
            return Ok(());
        }
        Err(self.err(
            Fail::new(
                LoadErrorKind::TooLarge,
                span,
                format!("{what} would make more than {limit} rows (the row limit)"),
            )
            .label("stopped here")
            .help(self.limit_help(limit, given)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_cost_their_ids_and_a_share_of_the_work_lists() {
        assert_eq!(row_bytes(0), 16);
        assert_eq!(row_bytes(3), 28);
    }

    #[test]
    fn the_budget_is_half_of_something_positive() {
        assert!(memory_budget() > 0);
    }
}
