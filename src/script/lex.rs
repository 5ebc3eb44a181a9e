//! Lexical pieces shared by the statement and expression parsers: the private
//! nom error type, trivia (blanks and comments), tokens (keywords, names,
//! strings, numbers) and the statement scanner that finds where a statement
//! ends before it is parsed (Qlik decides `$(…)` expansion per statement, so
//! the extent must be known first).
//!
//! Every parser here takes a suffix of (a slice of) the script text and
//! returns the rest, so positions are recovered by pointer difference from
//! the start of the whole text.

use nom::IResult;
use nom::error::ErrorKind;

use super::error::ParseErrorKind;

/// nom's error type for this parser; never public. Converted into
/// [`super::ParseError`] once, at the top. Boxed: every `Result` in the
/// recursive descent carries one, and a pointer keeps those frames small
/// enough for the nesting limits to be reached before the stack runs out.
#[derive(Debug)]
pub(crate) struct PErr<'a>(pub(crate) Box<PErrInner<'a>>);

#[derive(Debug)]
pub(crate) struct PErrInner<'a> {
    /// Where the problem is (rest of the input at that point).
    pub at: &'a str,
    /// Length of the offending text in bytes (0: a point).
    pub len: usize,
    pub kind: ParseErrorKind,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
}

pub(crate) type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

/// Scanner errors are final: they become nom failures.
impl<'a> From<PErr<'a>> for nom::Err<PErr<'a>> {
    fn from(e: PErr<'a>) -> Self {
        nom::Err::Failure(e)
    }
}

impl<'a> std::ops::Deref for PErr<'a> {
    type Target = PErrInner<'a>;
    fn deref(&self) -> &PErrInner<'a> {
        &self.0
    }
}

impl<'a> nom::error::ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PErr::unexpected(input, "something else")
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

impl<'a> PErr<'a> {
    /// "expected X, found Y" at the next token of `at`.
    pub(crate) fn unexpected(at: &'a str, expected: &str) -> Self {
        let (found, len) = describe(at);
        PErr(Box::new(PErrInner {
            at,
            len,
            kind: ParseErrorKind::UnexpectedToken,
            message: format!("expected {expected}, found {found}"),
            label: format!("expected {expected}"),
            help: None,
        }))
        .with_default_help()
    }

    /// An error of a given kind covering `len` bytes at `at`.
    pub(crate) fn new(
        at: &'a str,
        len: usize,
        kind: ParseErrorKind,
        message: String,
        label: &str,
        help: &str,
    ) -> Self {
        PErr(Box::new(PErrInner {
            at,
            len,
            kind,
            message,
            label: label.to_owned(),
            help: Some(help.to_owned()),
        }))
    }

    pub(crate) fn with_help(mut self, help: &str) -> Self {
        self.0.help = Some(help.to_owned());
        self
    }

    fn with_default_help(mut self) -> Self {
        if self.0.help.is_none() {
            self.0.help = Some(
                "check the statement against Qlik's load-script syntax; \
                 keywords are not allowed as plain names (use `[…]`)"
                    .to_owned(),
            );
        }
        self
    }

    /// As a nom failure (no backtracking past it).
    pub(crate) fn fail<T>(self) -> Result<T, nom::Err<PErr<'a>>> {
        Err(nom::Err::Failure(self))
    }

    /// As a nom recoverable error.
    pub(crate) fn err<T>(self) -> Result<T, nom::Err<PErr<'a>>> {
        Err(nom::Err::Error(self))
    }
}

/// The next token of `i` for a message, and its length.
pub(crate) fn describe(i: &str) -> (String, usize) {
    let i = i.trim_start_matches([' ', '\t']);
    let Some(c) = i.chars().next() else {
        return ("end of input".to_owned(), 0);
    };
    if c == '\r' || c == '\n' {
        return ("end of line".to_owned(), 0);
    }
    if is_ident_start(c) || c.is_ascii_digit() {
        let w: String = i
            .chars()
            .take_while(|&c| is_ident_char(c))
            .take(40)
            .collect();
        let len = w.len();
        return (format!("`{w}`"), len);
    }
    (format!("`{c}`"), c.len_utf8())
}

/// Characters that may start a plain name. Qlik accepts letters of any
/// script, `_`, and the marks `%`, `$`, `#`, `@` that real scripts use for
/// key and hidden fields (`%Key`, `$Field`, `#Units`).
pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '_' | '%' | '$' | '#' | '@')
}

/// Characters that may continue a plain name (adds digits and `.`, as in
/// `USER.EMAIL` and `PO#2`).
pub(crate) fn is_ident_char(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == '.'
}

/// Blanks and comments (`//` to end of line, `/* … */`). `///$tab` markers
/// are `//` comments.
pub(crate) fn sp(mut i: &str) -> PResult<'_, ()> {
    loop {
        let t = i.trim_start();
        if let Some(rest) = t.strip_prefix("//") {
            // A `//` comment runs to the line end, or to the end of input
            // (an empty slice of the input, so that offsets still hold).
            i = rest.find('\n').map_or(&rest[rest.len()..], |n| &rest[n..]);
        } else if let Some(rest) = t.strip_prefix("/*") {
            match rest.split_once("*/") {
                Some((_, after)) => i = after,
                None => return unterminated_comment(t).fail(),
            }
        } else {
            return Ok((t, ()));
        }
    }
}

/// Blanks and comments on the current line only; stops before the newline.
pub(crate) fn sp_line(mut i: &str) -> PResult<'_, ()> {
    loop {
        let t = i.trim_start_matches([' ', '\t', '\r']);
        if let Some(rest) = t.strip_prefix("//") {
            // A `//` comment runs to the line end, or to the end of input
            // (an empty slice of the input, so that offsets still hold).
            i = rest.find('\n').map_or(&rest[rest.len()..], |n| &rest[n..]);
        } else if let Some(rest) = t.strip_prefix("/*") {
            match rest.split_once("*/") {
                Some((_, after)) => i = after,
                None => return unterminated_comment(t).fail(),
            }
        } else {
            return Ok((t, ()));
        }
    }
}

fn unterminated_comment(at: &str) -> PErr<'_> {
    PErr::new(
        at,
        2,
        ParseErrorKind::UnterminatedComment,
        "unterminated `/*` comment".to_owned(),
        "this comment is never closed",
        "close the comment with `*/`",
    )
}

/// A plain word (identifier characters) right at `i`, no trivia skipped.
pub(crate) fn word_at(i: &str) -> Option<(&str, &str)> {
    let mut chars = i.char_indices();
    let (_, c) = chars.next()?;
    if !is_ident_start(c) || (c == '$' && i.starts_with("$(")) {
        return None;
    }
    let end = i
        .char_indices()
        .find(|&(_, c)| !is_ident_char(c))
        .map_or(i.len(), |(n, _)| n);
    // `end` comes from `char_indices` (or is the length): a char boundary.
    Some(i.split_at(end))
}

/// The next word after trivia, upper-cased, without consuming anything.
pub(crate) fn peek_word(i: &str) -> Option<String> {
    let (t, ()) = sp(i).ok()?;
    word_at(t).map(|(w, _)| w.to_ascii_uppercase())
}

/// Case-insensitive keyword after trivia, ending at a word boundary.
pub(crate) fn kw<'a>(i: &'a str, word: &str) -> PResult<'a, &'a str> {
    let (t, ()) = sp(i)?;
    match word_at(t) {
        Some((w, rest)) if w.eq_ignore_ascii_case(word) => Ok((rest, w)),
        _ => PErr::unexpected(t, &format!("`{word}`")).err(),
    }
}

/// The input after an optional keyword, if it is there. Builds no error:
/// optional tokens are tried often and an error costs allocations.
pub(crate) fn opt_kw<'a>(i: &'a str, word: &str) -> Option<&'a str> {
    let (t, ()) = sp(i).ok()?;
    word_at(t)
        .filter(|(w, _)| w.eq_ignore_ascii_case(word))
        .map(|(_, rest)| rest)
}

/// The input after an optional punctuation token, if it is there.
pub(crate) fn opt_punct<'a>(i: &'a str, p: &str) -> Option<&'a str> {
    let (t, ()) = sp(i).ok()?;
    t.strip_prefix(p)
}

/// True when the next word (after trivia) is `word`.
pub(crate) fn at_kw(i: &str, word: &str) -> bool {
    opt_kw(i, word).is_some()
}

/// A punctuation token after trivia.
pub(crate) fn punct<'a>(i: &'a str, p: &str) -> PResult<'a, &'a str> {
    let (t, ()) = sp(i)?;
    match t.strip_prefix(p) {
        // `t` starts with `p`: its length is a char boundary.
        Some(rest) => Ok((rest, &t[..p.len()])),
        None => PErr::unexpected(t, &format!("`{p}`")).err(),
    }
}

/// A quoted token opened by `q` at the start of `i`: its undoubled content
/// (`''` inside `'…'` is one quote). Fails with `unterminated-string`.
pub(crate) fn quoted(i: &str, q: char) -> PResult<'_, String> {
    let Some(body) = i.strip_prefix(q) else {
        return PErr::unexpected(i, &format!("`{q}`")).err();
    };
    let mut out = String::new();
    let mut rest = body;
    loop {
        match rest.split_once(q) {
            None => return unterminated(i, q).fail(),
            Some((before, after)) => {
                out.push_str(before);
                if let Some(again) = after.strip_prefix(q) {
                    out.push(q);
                    rest = again;
                } else {
                    return Ok((after, out));
                }
            }
        }
    }
}

/// `[…]` at the start of `i`: the content up to the first `]`.
pub(crate) fn bracketed(i: &str) -> PResult<'_, &str> {
    let Some(body) = i.strip_prefix('[') else {
        return PErr::unexpected(i, "`[`").err();
    };
    match body.split_once(']') {
        Some((content, after)) => Ok((after, content)),
        None => unterminated(i, '[').fail(),
    }
}

fn unterminated(at: &str, open: char) -> PErr<'_> {
    let close = if open == '[' { ']' } else { open };
    PErr::new(
        at,
        open.len_utf8(),
        ParseErrorKind::UnterminatedString,
        format!("unterminated `{open}`"),
        "opened here and never closed",
        &format!("add the closing `{close}`"),
    )
}

/// A name after trivia: plain, `[…]`, `"…"` or `` `…` ``. Returns the name
/// and the slice it started at.
pub(crate) fn name(i: &str) -> PResult<'_, (String, &str)> {
    let (t, ()) = sp(i)?;
    match t.chars().next() {
        Some('[') => {
            let (r, n) = bracketed(t)?;
            Ok((r, (n.to_owned(), t)))
        }
        Some(q @ ('"' | '`')) => {
            let (r, n) = quoted(t, q)?;
            Ok((r, (n, t)))
        }
        _ => match word_at(t) {
            Some((w, r)) => Ok((r, (w.to_owned(), t))),
            None => PErr::unexpected(t, "a name").err(),
        },
    }
}

/// A number literal right at `i`: digits, optional fraction, optional
/// exponent (`1`, `1.5`, `.5`, `1e3`). Returns its text.
pub(crate) fn number_at(i: &str) -> Option<(&str, &str)> {
    let b = i.as_bytes();
    let digits = |mut p: usize| {
        while b.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
        p
    };
    let mut p = digits(0);
    let int_len = p;
    if b.get(p) == Some(&b'.') && b.get(p + 1).is_some_and(u8::is_ascii_digit) {
        p = digits(p + 1);
    } else if int_len == 0 {
        return None;
    }
    if matches!(b.get(p), Some(b'e' | b'E')) {
        let mut q = p + 1;
        if matches!(b.get(q), Some(b'+' | b'-')) {
            q += 1;
        }
        if b.get(q).is_some_and(u8::is_ascii_digit) {
            p = digits(q);
        }
    }
    // A number glued to letters (`2nd`) is no number.
    if i.get(p..)
        .and_then(|r| r.chars().next())
        .is_some_and(|c| is_ident_start(c) && c != '$')
    {
        return None;
    }
    Some((i.get(..p)?, i.get(p..)?))
}

/// Where a scanned statement or clause ends, and what it contains.
#[derive(Debug, Default)]
pub(crate) struct Extent {
    /// Byte offset of the terminating `;` (or newline, or end of text).
    pub end: usize,
    /// True when it ended at `;`.
    pub semicolon: bool,
    /// True when `$(` occurs outside comments.
    pub dollar: bool,
    /// Plain words outside parentheses, as byte ranges.
    pub words: Vec<(usize, usize)>,
    /// Comment ranges (blanked out of deferred text).
    pub comments: Vec<(usize, usize)>,
}

impl Extent {
    /// Absorbs the extent that follows (preceding-load chains).
    pub(super) fn merge(&mut self, next: Extent) {
        self.end = next.end;
        self.semicolon = next.semicolon;
        self.dollar |= next.dollar;
        self.words.extend(next.words);
        self.comments.extend(next.comments);
    }
}

/// Finds the end of the statement (or, with `eol`, of the control clause)
/// starting at byte `start` of `text`: the first `;` (or line end) outside
/// quotes, brackets and comments. Unterminated quotes, brackets and `/*`
/// are reported at their opening.
pub(crate) fn scan(text: &str, start: usize, eol: bool) -> Result<Extent, PErr<'_>> {
    let b = text.as_bytes();
    // INVARIANT: `p` starts at `start`, a char boundary, and only moves
    // past whole chars (ASCII delimiters, words, quotes, `char::len_utf8`).
    let rest = |p: usize| &text[p..];
    let mut ext = Extent::default();
    let mut p = start;
    let mut depth = 0u32;
    let mut last_word_inline = false;
    while let Some(&c) = b.get(p) {
        match c {
            b';' => {
                ext.end = p;
                ext.semicolon = true;
                return Ok(ext);
            }
            b'\n' if eol => {
                ext.end = p;
                return Ok(ext);
            }
            b'\'' | b'"' | b'`' => {
                let at = rest(p);
                let q = char::from(c);
                match quoted(at, q) {
                    Ok((r, _)) => {
                        let e = text.len() - r.len();
                        // Qlik expands inside quotes and brackets too.
                        ext.dollar |= text.get(p..e).is_some_and(|s| s.contains("$("));
                        p = e;
                    }
                    Err(_) if last_word_inline => return Err(unterminated_inline(at, q)),
                    Err(_) => return Err(unterminated(at, q)),
                }
                last_word_inline = false;
            }
            b'[' => {
                let at = rest(p);
                match at.get(1..).and_then(|s| s.find(']')) {
                    Some(n) => {
                        ext.dollar |= at.get(..n + 2).is_some_and(|s| s.contains("$("));
                        p += n + 2;
                    }
                    None if last_word_inline => return Err(unterminated_inline(at, '[')),
                    None => return Err(unterminated(at, '[')),
                }
                last_word_inline = false;
            }
            // `lib://x` and `http://x` are paths, not comments.
            b'/' if b.get(p + 1) == Some(&b'/') && (p == 0 || b.get(p - 1) != Some(&b':')) => {
                let e = rest(p).find('\n').map_or(text.len(), |n| p + n);
                ext.comments.push((p, e));
                p = e;
            }
            b'/' if b.get(p + 1) == Some(&b'*') => match rest(p + 2).find("*/") {
                Some(n) => {
                    ext.comments.push((p, p + 2 + n + 2));
                    p += n + 4;
                }
                None => return Err(unterminated_comment(rest(p))),
            },
            b'$' if b.get(p + 1) == Some(&b'(') => {
                ext.dollar = true;
                depth += 1;
                p += 2;
            }
            b'(' => {
                depth += 1;
                p += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                p += 1;
            }
            _ => {
                let at = rest(p);
                match word_at(at) {
                    Some((w, r)) => {
                        let e = text.len() - r.len();
                        if depth == 0 {
                            ext.words.push((p, e));
                        }
                        last_word_inline = w.eq_ignore_ascii_case("INLINE");
                        p = e;
                    }
                    None => {
                        if !c.is_ascii_whitespace() {
                            last_word_inline = false;
                        }
                        p += at.chars().next().map_or(1, char::len_utf8);
                    }
                }
            }
        }
    }
    ext.end = text.len();
    Ok(ext)
}

fn unterminated_inline(at: &str, open: char) -> PErr<'_> {
    let close = if open == '[' { ']' } else { open };
    PErr::new(
        at,
        open.len_utf8(),
        ParseErrorKind::UnterminatedInline,
        format!("unterminated `INLINE` table: no closing `{close}`"),
        "the inline table starts here",
        &format!("end the inline table with `{close}` on its own line, then `;`"),
    )
}

/// `text` with every comment range replaced by blanks (newlines kept), so
/// offsets and line numbers inside stay those of the file.
pub(crate) fn blank_comments(text: &str, base: usize, comments: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut p = 0;
    for &(s, e) in comments {
        let (s, e) = (s.saturating_sub(base), e.saturating_sub(base));
        if s < p || e > text.len() {
            continue;
        }
        // INVARIANT: comments start at `/` and end after `*/`, at a line
        // end or at the end of the text: char boundaries, and `p <= s <= e`.
        out.push_str(&text[p..s]);
        for c in text[s..e].chars() {
            match c {
                '\n' | '\r' => out.push(c),
                _ => out.extend(std::iter::repeat_n(' ', c.len_utf8())),
            }
        }
        p = e;
    }
    out.push_str(&text[p..]);
    out
}

/// Splits `s` at commas outside quotes, brackets and parentheses; returns
/// the pieces as subslices.
pub(crate) fn split_commas(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0u32;
    let mut start = 0;
    let mut p = 0;
    while let Some(&c) = b.get(p) {
        match c {
            b'\'' | b'"' | b'`' => {
                let q = char::from(c);
                // `p` is at an ASCII quote: a char boundary.
                p = match quoted(&s[p..], q) {
                    Ok((r, _)) => s.len() - r.len(),
                    Err(_) => s.len(),
                };
                continue;
            }
            b'[' => {
                p = s
                    .get(p..)
                    .and_then(|r| r.find(']'))
                    .map_or(s.len(), |n| p + n + 1);
                continue;
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                // `start` follows an ASCII comma (or is 0), `p` is at one.
                parts.push(&s[start..p]);
                start = p + 1;
            }
            _ => {}
        }
        p += 1;
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivia_skips_blanks_and_both_comment_forms() {
        let (r, ()) = sp("  // x\n /* y\n z */\tLOAD").unwrap();
        assert_eq!(r, "LOAD");
        assert!(sp("/* open").is_err());
        let (r, ()) = sp_line("  // c\nNEXT").unwrap();
        assert_eq!(r, "\nNEXT");
    }

    #[test]
    fn keywords_are_case_insensitive_and_whole_words() {
        assert!(kw(" load *", "LOAD").is_ok());
        assert!(kw("loader", "LOAD").is_err());
        assert_eq!(peek_word("  Resident T").as_deref(), Some("RESIDENT"));
    }

    #[test]
    fn names_come_plain_bracketed_or_quoted() {
        assert_eq!(name(" [Customer ID] x").unwrap().1.0, "Customer ID");
        assert_eq!(name("\"a\"\"b\"").unwrap().1.0, "a\"b");
        assert_eq!(name("`x y`").unwrap().1.0, "x y");
        assert_eq!(name("%Key_ID,").unwrap().1.0, "%Key_ID");
        assert_eq!(name("USER.EMAIL ").unwrap().1.0, "USER.EMAIL");
        assert_eq!(name("PO#").unwrap().1.0, "PO#");
        assert_eq!(name("Größe").unwrap().1.0, "Größe");
        assert!(name("[open").is_err());
    }

    #[test]
    fn strings_undouble_quotes() {
        assert_eq!(
            quoted("'it''s' x", '\'').unwrap(),
            (" x", "it's".to_owned())
        );
        assert_eq!(quoted("'C:\\x\\'", '\'').unwrap().1, "C:\\x\\");
        let e = quoted("'abc", '\'').unwrap_err();
        assert!(matches!(e, nom::Err::Failure(p) if p.kind == ParseErrorKind::UnterminatedString));
    }

    #[test]
    fn numbers_have_fraction_and_exponent() {
        assert_eq!(number_at("12 "), Some(("12", " ")));
        assert_eq!(number_at("1.5e3)"), Some(("1.5e3", ")")));
        assert_eq!(number_at(".5"), Some((".5", "")));
        assert_eq!(number_at("1."), Some(("1", ".")));
        assert_eq!(number_at("2nd"), None);
        assert_eq!(number_at("x"), None);
    }

    #[test]
    fn scan_stops_at_semicolon_outside_quotes_brackets_comments() {
        let t = "LOAD 'a;b' AS [x;y] // c;\n FROM lib://D/x.csv; NEXT";
        let e = scan(t, 0, false).unwrap();
        assert_eq!(t.get(e.end..e.end + 6), Some("; NEXT"));
        assert!(e.semicolon && !e.dollar);
        assert_eq!(e.comments.len(), 1);
        let words: Vec<_> = e.words.iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(words, ["LOAD", "AS", "FROM", "lib", "D", "x.csv"]);
    }

    #[test]
    fn scan_sees_dollar_and_line_ends() {
        let e = scan("IF $(x) THEN\nLOAD", 0, true).unwrap();
        assert!(e.dollar && !e.semicolon);
        assert_eq!(e.end, 12);
        let e = scan("a /* $(x) */ b;", 0, false).unwrap();
        assert!(!e.dollar);
    }

    #[test]
    fn scan_reports_unterminated_at_opening() {
        let t = "LOAD * INLINE [\na\n1\n";
        let e = scan(t, 0, false).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::UnterminatedInline);
        assert_eq!(t.len() - e.at.len(), 14);
        assert_eq!(
            scan("x '", 0, false).unwrap_err().kind,
            ParseErrorKind::UnterminatedString
        );
        assert_eq!(
            scan("x /*", 0, false).unwrap_err().kind,
            ParseErrorKind::UnterminatedComment
        );
    }

    #[test]
    fn blanking_keeps_offsets_and_newlines() {
        let t = "a // x\nb /* y\nz */ c";
        let e = scan(t, 0, false).unwrap();
        let b = blank_comments(t, 0, &e.comments);
        assert_eq!(b.len(), t.len());
        assert_eq!(b, "a     \nb     \n     c");
    }

    #[test]
    fn commas_split_at_top_level_only() {
        assert_eq!(
            split_commas("a, f(b, c), 'd,e', [f,g]"),
            ["a", " f(b, c)", " 'd,e'", " [f,g]"]
        );
    }
}
