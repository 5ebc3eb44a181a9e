//! Public diagnostics of the parse phase: [`ParseError`], [`ParseWarning`]
//! and [`ExpandError`].
//!
//! nom's own error type never leaves the parser: [`crate::script`] converts
//! it once, at the top, into a [`ParseError`] that carries a stable code, a
//! labelled span, a help line and the source text, so it renders standalone.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

use super::source::Span;

/// What went wrong while parsing; each kind has a stable diagnostic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ParseErrorKind {
    /// A token that does not fit the grammar here (`script::unexpected-token`).
    UnexpectedToken,
    /// A `'…'`, `"…"`, `` `…` `` or `[…]` that never closes
    /// (`script::unterminated-string`).
    UnterminatedString,
    /// A `/*` comment that never closes (`script::unterminated-comment`).
    UnterminatedComment,
    /// An `INLINE` table whose closing delimiter is missing
    /// (`script::unterminated-inline`).
    UnterminatedInline,
    /// A statement not ended by `;` (`script::missing-semicolon`).
    MissingSemicolon,
    /// `IF` without `END IF`, `FOR` without `NEXT`, … (`script::unclosed-block`).
    UnclosedBlock,
    /// `END IF`, `NEXT`, `LOOP`, … that closes no open block
    /// (`script::stray-block-end`).
    StrayBlockEnd,
    /// Nesting beyond the parser's limits (`script::too-deep`).
    TooDeep,
    /// A text longer than [`super::MAX_TEXT_LEN`] bytes (`script::too-large`).
    TooLarge,
}

impl ParseErrorKind {
    /// The stable diagnostic code, e.g. `script::unexpected-token`.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnexpectedToken => "script::unexpected-token",
            Self::UnterminatedString => "script::unterminated-string",
            Self::UnterminatedComment => "script::unterminated-comment",
            Self::UnterminatedInline => "script::unterminated-inline",
            Self::MissingSemicolon => "script::missing-semicolon",
            Self::UnclosedBlock => "script::unclosed-block",
            Self::StrayBlockEnd => "script::stray-block-end",
            Self::TooDeep => "script::too-deep",
            Self::TooLarge => "script::too-large",
        }
    }
}

/// A located syntax error in a load script.
///
/// It carries its source text (a [`NamedSource`]), so it renders on its own
/// with any miette handler. [`ParseError::span`] gives the byte span for the
/// runner's `file:line:column` through [`super::source::SourceMap`].
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.message)]
pub struct ParseError(Box<Inner>);

/// Boxed so `Result<_, ParseError>` stays small.
#[derive(Debug)]
struct Inner {
    kind: ParseErrorKind,
    message: String,
    label: String,
    help: Option<String>,
    span: Span,
    src: NamedSource<Arc<str>>,
}

impl ParseError {
    pub(crate) fn new(
        kind: ParseErrorKind,
        message: String,
        label: String,
        help: Option<String>,
        span: Span,
        text: &str,
    ) -> Self {
        Self(Box::new(Inner {
            kind,
            message,
            label,
            help,
            span,
            src: NamedSource::new(
                format!("source #{}", span.source.0),
                Arc::from(crate::secrets::masked_in_place(text).into_owned()),
            ),
        }))
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ParseErrorKind {
        self.0.kind
    }

    /// Where the error is (byte offsets in the parsed text).
    pub fn span(&self) -> Span {
        self.0.span
    }

    /// The help line, if any.
    pub fn help_text(&self) -> Option<&str> {
        self.0.help.as_deref()
    }

    /// The label at the error's place.
    pub fn label_text(&self) -> &str {
        &self.0.label
    }

    /// Names the source in rendered output (the file path, usually); by
    /// default it is `source #N` after the [`super::source::SourceId`].
    #[must_use]
    pub fn with_source_name(mut self, name: impl AsRef<str>) -> Self {
        let text = Arc::clone(self.0.src.inner());
        self.0.src = NamedSource::new(name, text);
        self
    }
}

// Written by hand rather than derived: the code depends on `kind`, and the
// derive only knows fixed codes per type or variant.
impl Diagnostic for ParseError {
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

/// Something suspicious that Qlik accepts at parse time (it fails, if at
/// all, only when the statement runs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseWarning {
    /// Stable code, e.g. `script::unknown-statement`.
    pub code: &'static str,
    /// Lower-case message, user text in backticks.
    pub message: String,
    /// Where it is.
    pub span: Span,
}

impl fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A failed dollar-sign expansion. Offsets are bytes into the text given to
/// [`super::expand`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Diagnostic)]
pub enum ExpandError {
    /// `$(` with no matching `)`.
    #[error("unterminated `$(` expansion")]
    #[diagnostic(
        code("script::unterminated-expansion"),
        help("close the expansion with `)`")
    )]
    Unterminated {
        /// Offset of the `$(`.
        offset: usize,
    },
    /// Expansions nested (or variables expanding into themselves) too deep.
    #[error("dollar-sign expansion nested deeper than {limit} levels")]
    #[diagnostic(
        code("script::too-deep"),
        help("a variable probably expands into itself")
    )]
    TooDeep {
        /// Offset of the expansion that went too deep.
        offset: usize,
        /// The limit.
        limit: usize,
    },
    /// `$(=expr)` could not be evaluated.
    #[error("cannot evaluate `{expr}`: {message}")]
    #[diagnostic(code("script::expansion-failed"))]
    Evaluate {
        /// The expression text.
        expr: String,
        /// Why.
        message: String,
        /// Offset of the `$(`.
        offset: usize,
    },
    /// `$(Must_Include=path)` could not be read.
    #[error("cannot include `{path}`: {message}")]
    #[diagnostic(
        code("script::include-failed"),
        help("`Must_Include` requires the file; use `Include` to skip a missing one")
    )]
    Include {
        /// The path as written.
        path: String,
        /// Why.
        message: String,
        /// Offset of the `$(`.
        offset: usize,
    },
}

impl ExpandError {
    /// Byte offset of the failing expansion in the expanded text.
    pub fn offset(&self) -> usize {
        match self {
            Self::Unterminated { offset }
            | Self::TooDeep { offset, .. }
            | Self::Evaluate { offset, .. }
            | Self::Include { offset, .. } => *offset,
        }
    }
}
