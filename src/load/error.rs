//! Run-time diagnostics: [`LoadError`] and the span-only [`Fail`] that the
//! evaluation code raises before the runner attaches the source text.
//!
//! Every error carries a stable code (`load::…`), a labelled span in the file
//! it happened in (the script, an included file, or the text a `$(…)`
//! expansion produced), a help line and the `file:line:column` location.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

use crate::script::source::{Location, SharedText, SourceMap, Span};

/// What went wrong while running a script; each kind has a stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoadErrorKind {
    /// A source file (data or include) that cannot be read.
    MissingFile,
    /// A source file that is not what its format says: a damaged or cut
    /// short QVD file.
    BadFile,
    /// A statement or source that cannot run offline (SQL, QVD, Excel …).
    Unsupported,
    /// A function this tool does not know.
    UnknownFunction,
    /// A table name that names no loaded table.
    UnknownTable,
    /// A field name that names no field where it is used.
    UnknownField,
    /// A function or statement argument of the wrong kind or count.
    BadArgument,
    /// A statement (after `$(…)` expansion) that does not parse.
    Parse,
    /// Text that is no statement, reached at run time.
    UnknownStatement,
    /// CALL, include or expansion nested too deep, or a loop that never ends.
    TooDeep,
    /// A `$(…)` expansion that failed.
    Expansion,
    /// `CALL` of a sub that was not defined before.
    UnknownSub,
    /// A table or field past what the model can hold (`u32` ids).
    TooLarge,
    /// A file `STORE` could not write (with `--write-stores`).
    CannotWrite,
    /// A connection the script names with no database mapped to it
    /// (`--connect`), or `SQL` with no connection.
    NoConnection,
    /// A database that could not be reached or refused the login.
    CannotConnect,
    /// A database that refused or failed an SQL statement.
    SqlFailed,
    /// An SQL statement a replayed recording does not hold.
    NotRecorded,
    /// An invariant of this crate did not hold while running the script:
    /// a bug in section-access, not in the script.
    Bug,
}

impl LoadErrorKind {
    /// The stable diagnostic code, e.g. `load::missing-file`.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingFile => "load::missing-file",
            Self::BadFile => "load::bad-file",
            Self::Unsupported => "load::unsupported",
            Self::UnknownFunction => "load::unknown-function",
            Self::UnknownTable => "load::unknown-table",
            Self::UnknownField => "load::unknown-field",
            Self::BadArgument => "load::bad-argument",
            Self::Parse => "load::parse",
            Self::UnknownStatement => "load::unknown-statement",
            Self::TooDeep => "load::too-deep",
            Self::Expansion => "load::expansion",
            Self::UnknownSub => "load::unknown-sub",
            Self::TooLarge => "load::too-large",
            Self::CannotWrite => "load::cannot-write",
            Self::NoConnection => "load::no-connection",
            Self::CannotConnect => "load::cannot-connect",
            Self::SqlFailed => "load::sql-failed",
            Self::NotRecorded => "load::not-recorded",
            Self::Bug => "load::bug",
        }
    }
}

/// A failure known only by its span: raised deep in evaluation, turned into
/// a [`LoadError`] by the runner, which owns the source texts.
#[derive(Clone, Debug)]
pub(crate) struct Fail {
    pub kind: LoadErrorKind,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    pub span: Span,
}

impl Fail {
    pub(crate) fn new(kind: LoadErrorKind, span: Span, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            label: String::from("here"),
            help: None,
            span,
        }
    }

    #[must_use]
    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    #[must_use]
    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// A located error from running a script.
///
/// Renders standalone with any miette handler (it carries its source text);
/// [`LoadError::location`] gives `file:line:column`.
#[derive(Debug)]
pub struct LoadError(Box<Inner>);

/// The parts of a [`LoadError`], boxed so `Result`s stay small.
#[derive(Debug)]
struct Inner {
    kind: LoadErrorKind,
    message: String,
    label: String,
    help: Option<String>,
    span: Span,
    location: Location,
    src: NamedSource<SharedText>,
    parse: Option<Box<crate::script::ParseError>>,
}

impl LoadError {
    /// Attaches the source text of `fail`'s span. `expanded_from` names the
    /// statement a `$(…)` expansion came from, when the span points into the
    /// expanded text.
    pub(crate) fn from_fail(
        fail: Fail,
        sources: &SourceMap,
        expanded_from: Option<&Location>,
    ) -> Self {
        // Expanded text keeps the original file's lines and columns (it is
        // padded to the statement's position), so the location names the
        // original file at the place inside the expanded statement.
        let location = match expanded_from {
            Some(at) => Location {
                path: at.path.clone(),
                ..sources.location(fail.span)
            },
            None => sources.location(fail.span),
        };
        let (name, text) = match sources.get(fail.span.source) {
            Some(f) => (f.path.display().to_string(), Arc::clone(&f.text)),
            None => (String::from("<unknown>"), SharedText::default()),
        };
        let help = match (fail.help, expanded_from) {
            (Some(h), Some(at)) => Some(format!(
                "{h}; the statement is the expansion of the one at {at}"
            )),
            (None, Some(at)) => Some(format!("the statement is the expansion of the one at {at}")),
            (h, None) => h,
        };
        Self(Box::new(Inner {
            kind: fail.kind,
            message: fail.message,
            label: fail.label,
            help,
            span: fail.span,
            location,
            // The script as shown around the error: passwords masked.
            src: NamedSource::new(name, masked_text(text)),
            parse: None,
        }))
    }

    /// A parse error of expanded or included text, re-homed in the source map.
    pub(crate) fn from_parse(
        err: crate::script::ParseError,
        sources: &SourceMap,
        expanded_from: Option<&Location>,
    ) -> Self {
        let fail = Fail {
            kind: LoadErrorKind::Parse,
            message: err.to_string(),
            label: String::from("here"),
            help: err.help_text().map(str::to_string),
            span: err.span(),
        };
        let mut out = Self::from_fail(fail, sources, expanded_from);
        out.0.parse = Some(Box::new(err));
        out
    }

    /// What kind of error this is.
    pub fn kind(&self) -> LoadErrorKind {
        self.0.kind
    }

    /// The stable code, e.g. `load::missing-file`.
    pub fn code(&self) -> &'static str {
        self.0.kind.code()
    }

    /// Where it happened: `file:line:column`.
    pub fn location(&self) -> &Location {
        &self.0.location
    }

    /// The byte span in its source.
    pub fn span(&self) -> Span {
        self.0.span
    }

    /// The help line, if any.
    pub fn help_text(&self) -> Option<&str> {
        self.0.help.as_deref()
    }

    /// The parser's error, for [`LoadErrorKind::Parse`].
    pub fn parse_error(&self) -> Option<&crate::script::ParseError> {
        self.0.parse.as_deref()
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

// The parser's error is reachable through `parse_error`, not `source`: its
// message is already this error's, and renderers would print it twice.
impl std::error::Error for LoadError {}

// Written by hand: the code depends on `kind`.
impl Diagnostic for LoadError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.0.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.0.src)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = SourceSpan::from(self.0.span.range());
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some(self.0.label.clone()), span),
        )))
    }
}

/// The closest of `candidates` to `name` (case-insensitive), for "did you
/// mean" help; `None` when nothing is close.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 4) && d < c.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `text` with its passwords masked, offsets kept (the same text when it
/// holds none).
pub(crate) fn masked_text(text: SharedText) -> SharedText {
    match crate::secrets::masked_in_place(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(m) => Arc::new(m),
    }
}
