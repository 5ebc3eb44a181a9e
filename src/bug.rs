//! Broken invariants of our own, as errors.
//!
//! Bad input never panics and never reaches this type: it gets a located
//! diagnostic of the phase that read it. A [`Bug`] is what an *internal*
//! lookup returns when something this crate built itself is not what its
//! invariants promise (a symbol id past its table, a row past its column).
//! It is never replaced by a default value that could change an answer:
//! the command stops with exit code 1 and says that it is a bug.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use miette::Diagnostic;
use thiserror::Error;

/// An invariant of this crate that did not hold.
#[derive(Clone, Debug, Error, Diagnostic, PartialEq, Eq)]
#[error("internal error: {what}")]
#[diagnostic(
    code(section_access::bug),
    help("this is a bug in section-access, not in the script: please report it with the script")
)]
pub struct Bug {
    what: String,
}

impl Bug {
    /// A broken invariant, described by `what` (lower case, no final period).
    pub fn new(what: impl Into<String>) -> Self {
        Self { what: what.into() }
    }

    /// What did not hold.
    pub fn what(&self) -> &str {
        &self.what
    }
}

thread_local! {
    /// Whether this thread runs a [`contained`] call.
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, a third-party reader handed user input (a workbook to
/// calamine), with a panic inside it turned into `None`: that panic says
/// the input is bad (or the reader has a bug), not that an invariant of
/// ours broke, so the caller reports a located error. While `f` runs,
/// [`panic_is_contained`] is true on this thread, so a process-wide panic
/// hook (the binary's turns panics into [`Bug`]s) leaves it alone.
pub fn contained<T>(f: impl FnOnce() -> T) -> Option<T> {
    let outer = CONTAINED.replace(true);
    let out = catch_unwind(AssertUnwindSafe(f)).ok();
    CONTAINED.set(outer);
    out
}

/// True while this thread runs a [`contained`] call: a panic hook should
/// then let the panic unwind to it.
pub fn panic_is_contained() -> bool {
    CONTAINED.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contained_panic_is_none_and_the_flag_is_restored() {
        assert!(!panic_is_contained());
        assert_eq!(contained(|| 7), Some(7));
        let inner = contained(|| contained(panic_is_contained));
        assert_eq!(inner, Some(Some(true)));
        // The default hook prints this panic's message; it is expected.
        let got: Option<()> = contained(|| panic!("a reader failed"));
        assert_eq!(got, None);
        assert!(!panic_is_contained());
    }

    #[test]
    fn a_bug_says_it_is_one() {
        let b = Bug::new(format!("symbol {} past field `{}`", 7, "COUNTRY"));
        assert_eq!(b.what(), "symbol 7 past field `COUNTRY`");
        assert_eq!(
            b.to_string(),
            "internal error: symbol 7 past field `COUNTRY`"
        );
        let help = Diagnostic::help(&b).map(|h| h.to_string());
        assert!(help.is_some_and(|h| h.contains("bug in section-access")));
    }
}
