//! Source files and byte spans.
//!
//! Spans are byte offsets into one source file; line and column are computed
//! only when a diagnostic is shown. A [`Span`] compares and hashes by its
//! bytes; spans never take part in AST equality (the nodes that carry one
//! leave it out, as sqlparser's `Ident` does), so two parses of the same
//! text with different layout compare equal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The decoded text of a script file, shared by its [`SourceMap`] and the
/// INLINE tables parsed from it. A `String` behind the `Arc`, not a `str`:
/// the text decoded from a file is shared as it is, never copied (a script
/// with a million-row INLINE table is tens of megabytes).
pub type SharedText = Arc<String>;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// A byte range in one source file. Two spans are equal when they cover
/// the same bytes of the same file; the AST nodes that carry one leave it
/// out of their own equality (see [`crate::script::ast`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file the range is in.
    pub source: SourceId,
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span in `source` from `start` to `end` (byte offsets).
    ///
    /// Offsets in a text [`crate::script::parse`] accepts fit `u32` (it
    /// refuses texts past [`crate::script::MAX_TEXT_LEN`]); only the
    /// location of that refusal could saturate.
    pub fn new(source: SourceId, start: usize, end: usize) -> Self {
        Self {
            source,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// Byte range, for slicing the source text with `get`.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    /// True when the span covers no byte.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// Lines from one kept line start to the next (see [`SourceFile::marks`]).
const LINES_PER_MARK: usize = 64;

/// One file of script text (the main script or an included one), already
/// decoded to UTF-8.
#[derive(Debug)]
pub struct SourceFile {
    /// Where it was read from (or a name such as `<inline>`).
    pub path: PathBuf,
    /// The decoded text, BOM removed, line ends as in the file.
    pub text: SharedText,
    /// Where lines 1, 1 + [`LINES_PER_MARK`], … start: a line is found
    /// from the mark before it, a few lines on. A million-line INLINE
    /// table keeps 16,000 marks, not a million line starts to fill.
    marks: Vec<u32>,
}

impl SourceFile {
    /// A file from its decoded text.
    pub fn new(path: PathBuf, text: SharedText) -> Self {
        let marks = std::iter::once(0)
            .chain(
                memchr::memchr_iter(b'\n', text.as_bytes())
                    .skip(LINES_PER_MARK - 1)
                    .step_by(LINES_PER_MARK)
                    .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX)),
            )
            .collect();
        Self { path, text, marks }
    }

    /// Where 1-based line `line` starts (the end of the text for the line
    /// after a final line end), if the text has it.
    fn line_start(&self, line: u32) -> Option<usize> {
        let i = (line as usize).checked_sub(1)?;
        let mark = *self.marks.get(i / LINES_PER_MARK)? as usize;
        match i % LINES_PER_MARK {
            0 => Some(mark),
            on => {
                let rest = self.text.as_bytes().get(mark..)?;
                memchr::memchr_iter(b'\n', rest)
                    .nth(on - 1)
                    .map(|nl| mark + nl + 1)
            }
        }
    }

    /// The text of 1-based line `line` without its line end, as
    /// `text.lines().nth(line - 1)` gives it, from the marks (audits look
    /// up a line per grant; scanning the file each time is quadratic).
    pub fn line_text(&self, line: u32) -> Option<&str> {
        let start = self.line_start(line)?;
        let rest = self.text.get(start..).filter(|r| !r.is_empty())?;
        let l = rest.split_once('\n').map_or(rest, |(l, _)| l);
        Some(l.strip_suffix('\r').unwrap_or(l))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let m = self.marks.partition_point(|&s| s <= offset).max(1) - 1;
        let mark = self.marks.get(m).map_or(0, |&s| s as usize);
        let end = (offset as usize).min(self.text.len());
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: marks are line starts in the text, and `mark <= offset`: mark <= end <= len"
        )]
        let before = &self.text.as_bytes()[mark..end];
        let lines = memchr::memchr_iter(b'\n', before).count();
        let start = memchr::memrchr(b'\n', before).map_or(mark, |nl| mark + nl + 1);
        let col = self.text.get(start..end).map_or(0, |s| s.chars().count());
        let line = m * LINES_PER_MARK + lines + 1;
        (u32::try_from(line).unwrap_or(u32::MAX), col as u32 + 1)
    }
}

/// Every file the script run has read, addressed by [`SourceId`].
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: PathBuf, text: SharedText) -> SourceId {
        let id = SourceId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(path, text));
        id
    }

    /// The file behind an id.
    pub fn get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The text a span covers.
    pub fn slice(&self, span: Span) -> Option<&str> {
        self.get(span.source)?.text.get(span.range())
    }

    /// `path:line:column` of a span's start.
    pub fn location(&self, span: Span) -> Location {
        match self.get(span.source) {
            Some(f) => {
                let (line, column) = f.line_col(span.start);
                Location {
                    path: f.path.clone(),
                    line,
                    column,
                }
            }
            None => Location {
                path: PathBuf::from("<unknown>"),
                line: 0,
                column: 0,
            },
        }
    }

    /// The path of a file.
    pub fn path(&self, id: SourceId) -> Option<&Path> {
        self.get(id).map(|f| f.path.as_path())
    }
}

/// A place in a file, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines around several marks: CRLF, blank lines, multi-byte
    /// characters.
    fn many_lines() -> String {
        (0..300)
            .map(|i| match i % 7 {
                0 => String::from("\n"),
                1 => format!("çé {i}\r\n"),
                _ => format!("line {i}\n"),
            })
            .collect::<String>()
            + "last"
    }

    #[test]
    fn line_text_is_what_lines_gives() {
        let many = many_lines();
        let short = ["", "a", "a\n", "a\r\nb", "a\n\nb\r\n", "\n", "x\ny"];
        for text in short.into_iter().chain([many.as_str()]) {
            let f = SourceFile::new(PathBuf::from("t"), Arc::new(text.to_owned()));
            let past = u32::try_from(text.lines().count() + 3).unwrap_or(u32::MAX);
            for line in 1..past {
                assert_eq!(
                    f.line_text(line),
                    text.lines().nth(line as usize - 1),
                    "{text:?} line {line}"
                );
            }
        }
    }

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let mut map = SourceMap::default();
        let id = map.add(PathBuf::from("a.qvs"), Arc::new("ab\r\nçd;\nx".to_owned()));
        let loc = map.location(Span::new(id, 6, 7)); // the `d`
        assert_eq!((loc.line, loc.column), (2, 2));
        let loc = map.location(Span::new(id, 0, 1));
        assert_eq!((loc.line, loc.column), (1, 1));
        let loc = map.location(Span::new(id, 9, 10));
        assert_eq!((loc.line, loc.column), (3, 1));
        assert_eq!(loc.to_string(), "a.qvs:3:1");
    }

    #[test]
    fn columns_past_many_marks_are_found_as_by_scanning() {
        let text = many_lines();
        let f = SourceFile::new(PathBuf::from("t"), Arc::new(text.clone()));
        let mut line = 1;
        let mut start = 0;
        for (offset, c) in text.char_indices() {
            let col = text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
            let at = u32::try_from(offset).unwrap_or(u32::MAX);
            assert_eq!(f.line_col(at), (line, col as u32), "offset {offset}");
            if c == '\n' {
                line += 1;
                start = offset + 1;
            }
        }
        // Past the end: the end's line.
        let end = u32::try_from(text.len() + 10).unwrap_or(u32::MAX);
        assert_eq!(f.line_col(end).0, line);
    }

    #[test]
    fn spans_are_equal_only_when_they_cover_the_same_bytes() {
        use std::collections::HashSet;
        let a = Span::new(SourceId(0), 1, 2);
        assert_eq!(a, Span::new(SourceId(0), 1, 2));
        assert_ne!(a, Span::new(SourceId(0), 1, 3));
        assert_ne!(a, Span::new(SourceId(0), 0, 2));
        assert_ne!(a, Span::new(SourceId(1), 1, 2));
        let set: HashSet<Span> = [
            a,
            Span::new(SourceId(0), 1, 2),
            Span::new(SourceId(1), 1, 2),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 2);
    }
}
