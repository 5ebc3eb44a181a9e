//! Broken invariants of our own, as errors.
//!
//! Bad input never panics and never reaches this type: it gets a located
//! diagnostic of the phase that read it. A [`Bug`] is what an *internal*
//! lookup returns when something this crate built itself is not what its
//! invariants promise (a symbol id past its table, a row past its column).
//! It is never replaced by a default value that could change an answer:
//! the command stops with exit code 1 and says that it is a bug.

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

#[cfg(test)]
mod tests {
    use super::*;

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
