//! Delimited text: the format specification, Qlik's standard quoting, and
//! the streaming reader for `FROM file (txt, …)`.
//!
//! Cells go straight from the file's bytes into per-column symbol ids: each
//! column keeps a byte-keyed map, so a value is decoded and interned once per
//! distinct byte string, and a row costs one hash lookup per needed column.
//! `msq` files go through the `csv` crate (RFC 4180-style `"` quoting,
//! multi-line cells); standard quoting (Qlik's default: `"` or `'` count only
//! as the first and last non-blank character of a cell) has its own
//! line tokenizer, shared with INLINE tables.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use encoding_rs::Encoding;
use foldhash::fast::FixedState;
use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};

use crate::model::{RowOrigin, SymbolId, Symbols};
use crate::script::ast::FormatItem;

use super::frame::{Frame, FrameColumn};

/// How field names are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Labels {
    /// The first record holds the names.
    Embedded,
    /// No names: fields are `@1`, `@2`, …
    None,
}

/// Quoting rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quoting {
    /// Qlik's default: `"…"` or `'…'` around a whole (trimmed) cell.
    Standard,
    /// Modern style: `"` quoting with doubled quotes and multi-line cells.
    Msq,
    /// Quotes are ordinary characters.
    None,
}

/// Text encodings a file may declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    /// Detect: BOM, else UTF-8 when valid, else Windows-1252.
    Auto,
    /// A fixed encoding.
    Fixed(&'static Encoding),
}

/// A parsed format specification for delimited text.
#[derive(Clone, Debug)]
pub(crate) struct TextFormat {
    pub labels: Labels,
    pub delimiter: Vec<u8>,
    pub quoting: Quoting,
    pub header_lines: usize,
    pub comment: Option<Vec<u8>>,
    pub encoding: TextEncoding,
}

impl TextFormat {
    /// The defaults for INLINE tables and text files: embedded labels, `,`,
    /// standard quoting.
    pub(super) fn new() -> Self {
        Self {
            labels: Labels::Embedded,
            delimiter: b",".to_vec(),
            quoting: Quoting::Standard,
            header_lines: 0,
            comment: None,
            encoding: TextEncoding::Auto,
        }
    }
}

/// A format item the reader cannot honour.
pub(crate) enum FormatProblem {
    /// A file type other than delimited text (QVD, Excel, fixed record …).
    FileType(String),
    /// An option that is not supported (`record is n lines`, code page).
    Option(String),
    /// An option with no effect here (warned about).
    Ignored(String),
}

/// Reads the format items; unsupported ones come back as problems.
pub(crate) fn text_format(
    items: &[FormatItem],
    mut base: TextFormat,
) -> (TextFormat, Vec<FormatProblem>) {
    let mut problems = Vec::new();
    for item in items {
        match item {
            FormatItem::Txt => {}
            FormatItem::Fix => problems.push(FormatProblem::FileType(String::from("fix"))),
            FormatItem::Qvd => problems.push(FormatProblem::FileType(String::from("qvd"))),
            FormatItem::Qvx => problems.push(FormatProblem::FileType(String::from("qvx"))),
            FormatItem::OtherFileType(t) => {
                problems.push(FormatProblem::FileType(t.to_lowercase()))
            }
            FormatItem::Utf8 => base.encoding = TextEncoding::Fixed(encoding_rs::UTF_8),
            FormatItem::Unicode => base.encoding = TextEncoding::Fixed(encoding_rs::UTF_16LE),
            FormatItem::Ansi => base.encoding = TextEncoding::Fixed(encoding_rs::WINDOWS_1252),
            FormatItem::Mac => base.encoding = TextEncoding::Fixed(encoding_rs::MACINTOSH),
            FormatItem::Oem => {
                problems.push(FormatProblem::Option(String::from("oem (code page 850)")))
            }
            FormatItem::Codepage(n) => match codepage(*n) {
                Some(e) => base.encoding = TextEncoding::Fixed(e),
                None => problems.push(FormatProblem::Option(format!("codepage is {n}"))),
            },
            FormatItem::EmbeddedLabels => base.labels = Labels::Embedded,
            // Qlik's `explicit labels` names fields in the LOAD itself; the
            // file's cells are then addressed as `@1`, `@2`, …
            FormatItem::ExplicitLabels | FormatItem::NoLabels => base.labels = Labels::None,
            FormatItem::Delimiter(d) => base.delimiter = d.as_bytes().to_vec(),
            FormatItem::Msq => base.quoting = Quoting::Msq,
            FormatItem::NoQuotes => base.quoting = Quoting::None,
            FormatItem::HeaderLines(n) => base.header_lines = *n as usize,
            FormatItem::RecordLines(n) => {
                problems.push(FormatProblem::Option(format!("record is {n} lines")))
            }
            FormatItem::CommentIs(c) => base.comment = Some(c.as_bytes().to_vec()),
            FormatItem::NoEof | FormatItem::TableIs(_) => {}
            FormatItem::Other(o) => problems.push(FormatProblem::Ignored(o.clone())),
        }
    }
    if base.delimiter.is_empty() {
        base.delimiter = b",".to_vec();
    }
    (base, problems)
}

/// The encodings Qlik's `codepage is n` names that this reader knows.
fn codepage(n: u32) -> Option<&'static Encoding> {
    Some(match n {
        65001 => encoding_rs::UTF_8,
        1200 => encoding_rs::UTF_16LE,
        1201 => encoding_rs::UTF_16BE,
        1250 => encoding_rs::WINDOWS_1250,
        1251 => encoding_rs::WINDOWS_1251,
        1252 | 28591 => encoding_rs::WINDOWS_1252,
        1253 => encoding_rs::WINDOWS_1253,
        1254 => encoding_rs::WINDOWS_1254,
        1255 => encoding_rs::WINDOWS_1255,
        1256 => encoding_rs::WINDOWS_1256,
        1257 => encoding_rs::WINDOWS_1257,
        1258 => encoding_rs::WINDOWS_1258,
        28592 => encoding_rs::ISO_8859_2,
        28605 => encoding_rs::ISO_8859_15,
        932 => encoding_rs::SHIFT_JIS,
        936 => encoding_rs::GBK,
        949 => encoding_rs::EUC_KR,
        950 => encoding_rs::BIG5,
        10000 => encoding_rs::MACINTOSH,
        20866 => encoding_rs::KOI8_R,
        _ => return None,
    })
}

/// Splits one line into cells with standard quoting (or none), pushing them
/// to `out`. Unquoted cells lose surrounding blanks.
pub(crate) fn split_line<'a>(
    line: &'a [u8],
    delim: &[u8],
    quoting: Quoting,
    out: &mut Vec<Cow<'a, [u8]>>,
) {
    out.clear();
    split_cells(line, delim, quoting, |cell, _| out.push(cell));
}

/// [`split_line`], handing each cell to `cell` with where it starts in
/// the line (for a borrowed cell; an owned one, a quoted cell with doubled
/// quotes, has no place of its own).
pub(crate) fn split_cells<'a>(
    line: &'a [u8],
    delim: &[u8],
    quoting: Quoting,
    mut cell: impl FnMut(Cow<'a, [u8]>, usize),
) {
    let spaces = delim == b" ";
    let is_blank = |b: u8| b == b' ' || (b == b'\t' && delim != b"\t");
    // A one-byte delimiter (the usual case) is compared as a byte: a
    // slice compare is a call to `memcmp`, a quarter of cutting a large
    // INLINE table into cells.
    let at_delim = |pos: usize| {
        !spaces
            && match delim {
                [d] => line.get(pos) == Some(d),
                _ => line.get(pos..pos + delim.len()) == Some(delim),
            }
    };
    let mut pos = 0;
    if spaces {
        while line.get(pos).is_some_and(|&b| b == b' ') {
            pos += 1;
        }
        if pos >= line.len() {
            return;
        }
    }
    loop {
        while line
            .get(pos)
            .is_some_and(|&b| is_blank(b) && !at_delim(pos))
        {
            pos += 1;
        }
        let mut quoted: Option<(Cow<'a, [u8]>, usize)> = None;
        if quoting == Quoting::Standard
            && let Some(&q) = line.get(pos).filter(|&&b| b == b'"' || b == b'\'')
        {
            quoted = quoted_cell(line, pos, q, delim, spaces, &is_blank);
        }
        let end = match quoted {
            Some((c, end)) => {
                cell(c, pos + 1);
                end
            }
            None => {
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: pos <= line.len(): it only moves over bytes of line, or past a delimiter found in it"
                )]
                let rest = &line[pos..];
                let found = if spaces {
                    memchr::memchr(b' ', rest)
                } else {
                    find_delim(rest, delim)
                };
                let end = pos + found.unwrap_or(rest.len());
                let mut last = end;
                while last > pos && line.get(last - 1).is_some_and(|&b| is_blank(b)) {
                    last -= 1;
                }
                #[expect(
                    clippy::indexing_slicing,
                    reason = "INVARIANT: pos <= last <= end <= line.len() (end is within rest)"
                )]
                let text = &line[pos..last];
                cell(Cow::Borrowed(text), pos);
                end
            }
        };
        if spaces {
            let mut p = end;
            while line.get(p).is_some_and(|&b| b == b' ') {
                p += 1;
            }
            if p >= line.len() {
                return;
            }
            pos = p;
        } else if end >= line.len() {
            return;
        } else {
            pos = end + delim.len();
        }
    }
}

/// Where `delim` first starts in `hay`: the end of an unquoted cell, found
/// with `memchr` on the delimiter's first byte (a byte-by-byte slice
/// compare was a sixth of reading a large INLINE table).
fn find_delim(hay: &[u8], delim: &[u8]) -> Option<usize> {
    let Some((&first, tail)) = delim.split_first() else {
        return Some(0);
    };
    if tail.is_empty() {
        return memchr::memchr(first, hay);
    }
    let mut from = 0;
    while let Some(i) = hay.get(from..).and_then(|h| memchr::memchr(first, h)) {
        let at = from + i;
        if hay.get(at + 1..at + 1 + tail.len()) == Some(tail) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A quoted cell starting at `start` (the quote): its content and the
/// position of the delimiter (or end) after it, when the closing quote is
/// the last non-blank character before a delimiter.
fn quoted_cell<'a>(
    line: &'a [u8],
    start: usize,
    q: u8,
    delim: &[u8],
    spaces: bool,
    is_blank: &dyn Fn(u8) -> bool,
) -> Option<(Cow<'a, [u8]>, usize)> {
    let mut i = start + 1;
    let mut content: Vec<u8> = Vec::new();
    let mut doubled = false;
    while i < line.len() {
        if line.get(i) == Some(&q) {
            if line.get(i + 1) == Some(&q) {
                content.push(q);
                doubled = true;
                i += 2;
                continue;
            }
            let mut j = i + 1;
            while line.get(j).is_some_and(|&b| is_blank(b))
                && !(spaces && line.get(j) == Some(&b' '))
            {
                j += 1;
            }
            let ends = j >= line.len()
                || (spaces && line.get(j) == Some(&b' '))
                || (!spaces && line.get(j..j + delim.len()) == Some(delim));
            if ends {
                let c = if doubled {
                    Cow::Owned(content)
                } else {
                    #[expect(
                        clippy::indexing_slicing,
                        reason = "INVARIANT: start + 1 <= i < line.len(): i moved from start + 1 within the line"
                    )]
                    let text = &line[start + 1..i];
                    Cow::Borrowed(text)
                };
                return Some((c, j));
            }
            content.push(q);
            i += 1;
            continue;
        }
        if let Some(&b) = line.get(i) {
            content.push(b);
        }
        i += 1;
    }
    None
}

/// Interns cells of one column from bytes.
///
/// UTF-8 cells (the usual case) go straight into the column's symbols:
/// one lookup by text or number, an allocation only for a new value.
/// Cells in another encoding keep a byte-keyed map (foldhash: the map is
/// private to one load, so hash flooding is no concern) so each distinct
/// byte string is decoded once.
pub(crate) struct ColumnBuilder {
    map: HashMap<Box<[u8]>, SymbolId, FixedState>,
    pub col: FrameColumn,
}

impl ColumnBuilder {
    pub(super) fn new() -> Self {
        Self {
            map: HashMap::default(),
            col: FrameColumn::default(),
        }
    }

    /// Appends a cell given as bytes in `enc` (`None`: UTF-8).
    pub(super) fn push(&mut self, bytes: &[u8], enc: Option<&'static Encoding>) {
        let Some(enc) = enc else {
            let id = match self.col.syms.find_plain(bytes) {
                Some(id) => id,
                None => match std::str::from_utf8(bytes) {
                    Ok(text) => self.col.syms.intern_text(text),
                    Err(_) => self.col.syms.intern_text(&String::from_utf8_lossy(bytes)),
                },
            };
            self.col.ids.push(id);
            return;
        };
        if let Some(&id) = self.map.get(bytes) {
            self.col.ids.push(id);
            return;
        }
        let text = decode(bytes, Some(enc));
        let id = self.col.syms.intern_text(&text);
        self.map.insert(Box::from(bytes), id);
        self.col.ids.push(id);
    }
}

fn decode<'a>(bytes: &'a [u8], enc: Option<&'static Encoding>) -> Cow<'a, str> {
    match enc {
        None => String::from_utf8_lossy(bytes),
        Some(e) => e.decode_without_bom_handling(bytes).0,
    }
}

/// Names for unlabelled fields: `@1`, `@2`, …
pub(crate) fn at_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("@{i}")).collect()
}

/// What a file read produced besides the frame.
pub(crate) struct FileRead {
    pub frame: Frame,
    /// The decoded text, when lines were tracked (security tables keep it
    /// so rows can point at their line).
    pub text: Option<String>,
}

/// Reads a delimited file into a frame. `needed`: the fields the load uses
/// (`None` for all); `seeds`: symbols to start columns from (their values
/// need not occur in the file); `track_lines`: record each row's line.
pub(crate) fn read_file(
    path: &Path,
    fmt: &TextFormat,
    needed: Option<&HashSet<String>>,
    seeds: &HashMap<String, Symbols>,
    track_lines: bool,
    file_id: u32,
) -> std::io::Result<FileRead> {
    read_file_split(
        path,
        fmt,
        needed,
        seeds,
        (track_lines, file_id),
        SPLIT_BYTES,
    )
    .map(|(read, _)| read)
}

/// [`read_file`], reading files of at least `split` bytes in two halves;
/// true with the result when two halves were read.
fn read_file_split(
    path: &Path,
    fmt: &TextFormat,
    needed: Option<&HashSet<String>>,
    seeds: &HashMap<String, Symbols>,
    (track_lines, file_id): (bool, u32),
    split: u64,
) -> std::io::Result<(FileRead, bool)> {
    let file = std::fs::File::open(path)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = reader.fill_buf()?;
    let (bom_enc, bom_len) = match Encoding::for_bom(head) {
        Some((e, n)) => (Some(e), n),
        None => (None, 0),
    };
    reader.consume(bom_len);
    let declared = match fmt.encoding {
        TextEncoding::Fixed(e) => Some(e),
        TextEncoding::Auto => bom_enc,
    };
    // UTF-16 is transcoded up front; byte-oriented parsing needs an ASCII
    // superset. Tracked (security) files are small and read whole too.
    let utf16 = declared.is_some_and(|e| e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE);
    let mut kept_text = None;
    let (mut src, enc): (Box<dyn BufRead + Send>, Option<&'static Encoding>) =
        if utf16 || track_lines {
            let mut raw = Vec::new();
            reader.read_to_end(&mut raw)?;
            let enc = declared.unwrap_or_else(|| {
                if std::str::from_utf8(&raw).is_ok() {
                    encoding_rs::UTF_8
                } else {
                    encoding_rs::WINDOWS_1252
                }
            });
            let text = enc.decode_without_bom_handling(&raw).0.into_owned();
            let bytes = text.clone().into_bytes();
            if track_lines {
                kept_text = Some(text);
            }
            (Box::new(std::io::Cursor::new(bytes)), None)
        } else {
            // Auto without BOM: UTF-8, invalid sequences replaced. (Qlik would
            // guess ANSI for such files; declare `ansi` to get Windows-1252.)
            let enc = declared.filter(|e| *e != encoding_rs::UTF_8);
            (Box::new(reader), enc)
        };
    let mut line_no = 1usize;
    let mut skip = Vec::new();
    // Where the text after the header lines starts in the file (read
    // straight from the file only: transcoded text has other offsets).
    let mut body_start = bom_len as u64;
    for _ in 0..fmt.header_lines {
        skip.clear();
        let n = src.read_until(b'\n', &mut skip)?;
        if n == 0 {
            break;
        }
        body_start += n as u64;
        line_no += 1;
    }
    let single_byte = fmt.delimiter.len() == 1 && fmt.delimiter != b" ";
    let comment_byte = match fmt.comment.as_deref() {
        None => Some(None),
        Some([b]) => Some(Some(*b)),
        Some(_) => None,
    };
    let mut sink = Sink::new(fmt.labels, needed, seeds, enc, track_lines, file_id);
    if fmt.quoting == Quoting::Msq
        && single_byte
        && let Some(comment) = comment_byte
    {
        let delim = fmt.delimiter.first().copied().unwrap_or(b',');
        let mut csv = csv_reader(delim, comment, src);
        let mut rec = csv::ByteRecord::new();
        // Large files read straight from disk: the second half beside the
        // first (`rayon::join`) once the labels are known.
        let size = std::fs::metadata(path)?.len();
        if kept_text.is_none() && !utf16 && fmt.labels == Labels::Embedded && size >= split {
            if !csv.read_byte_record(&mut rec).map_err(invalid_data)? {
                let frame = sink.finish()?;
                return Ok((FileRead { frame, text: None }, false));
            }
            sink.record(rec.iter().map(Cow::Borrowed), 0);
            let (frame, halves) =
                read_halves(path, size, body_start, csv, &sink, (delim, comment))?;
            return Ok((FileRead { frame, text: None }, halves));
        }
        // Lines of record starts, from the byte offsets of the text after
        // the header lines (csv's own line count lags by a record).
        let line_starts: Vec<usize> = match &kept_text {
            Some(t) => std::iter::once(0)
                .chain(
                    t.bytes()
                        .enumerate()
                        .filter(|&(_, b)| b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .collect(),
            None => Vec::new(),
        };
        let skipped = line_starts.get(line_no - 1).copied().unwrap_or(0);
        loop {
            let start = csv.position().byte() as usize;
            match csv.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(invalid_data(e)),
            }
            // The record starts after any blank lines the reader skipped.
            let at = skipped
                + start
                + kept_text
                    .as_deref()
                    .and_then(|t| t.as_bytes().get(skipped + start..))
                    .map_or(0, |rest| {
                        rest.iter()
                            .take_while(|&&b| b == b'\n' || b == b'\r')
                            .count()
                    });
            let line = if track_lines {
                line_starts.partition_point(|&s| s <= at)
            } else {
                0
            };
            sink.record(rec.iter().map(Cow::Borrowed), line);
        }
    } else {
        let quoting = if fmt.quoting == Quoting::Msq {
            Quoting::Standard
        } else {
            fmt.quoting
        };
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if src.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            let mut line: &[u8] = &buf;
            while let Some((b'\n' | b'\r', rest)) = line.split_last() {
                line = rest;
            }
            let this_line = line_no;
            line_no += 1;
            if fmt.comment.as_deref().is_some_and(|c| line.starts_with(c)) {
                continue;
            }
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let mut cells: Vec<Cow<'_, [u8]>> = Vec::new();
            split_line(line, &fmt.delimiter, quoting, &mut cells);
            sink.record(cells.into_iter(), this_line);
        }
    }
    Ok((
        FileRead {
            frame: sink.finish()?,
            text: kept_text,
        },
        false,
    ))
}

/// Rows read before estimating how many a file holds.
const SAMPLE_ROWS: usize = 4096;

/// Files at least this large are read in two halves side by side
/// (`rayon::join`, so on one thread they are read one after the other).
///
/// Two, whatever the pool: each further piece holds a symbol table per
/// column until it is appended, and its values are interned twice (app
/// L's sales hold a million distinct customer ids: one more table of
/// them per piece), which peak memory cannot afford.
const SPLIT_BYTES: u64 = 16 << 20;

fn invalid_data(e: csv::Error) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
}

/// A reader of `msq` records.
fn csv_reader<R: Read>(delim: u8, comment: Option<u8>, src: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .quote(b'"')
        .double_quote(true)
        .comment(comment)
        .from_reader(src)
}

/// Reads the records of an `msq` file after its labels (`first` reads the
/// text from byte `base` of the file and has read the labels into
/// `labelled`) in two halves side by side (`rayon::join`): `first` reads
/// from `start`, a second reader from the first line start after the
/// middle of the rest, each into its own frame; the halves are then
/// joined, the second's values re-interned once each.
///
/// A line start is a record start unless a quoted cell spans it, which
/// only reading from the beginning can tell: `first` reads on until
/// the first record that starts at or past the split and checks it starts
/// *at* the split. If not, the second half is dropped and `first` reads
/// on to the end alone, so the result is always the sequential one. True
/// with the frame when the halves were used.
fn read_halves<R: Read + Send>(
    path: &Path,
    size: u64,
    base: u64,
    mut first: csv::Reader<R>,
    labelled: &Sink<'_>,
    (delim, comment): (u8, Option<u8>),
) -> std::io::Result<(Frame, bool)> {
    use std::io::{Seek, SeekFrom};
    let mut mine = labelled.fresh();
    let mut rec = csv::ByteRecord::new();
    let start = base + first.position().byte();
    let split = {
        let mut f = std::fs::File::open(path)?;
        let mid = start + size.saturating_sub(start) / 2;
        f.seek(SeekFrom::Start(mid))?;
        let mut probe = BufReader::with_capacity(1 << 16, f);
        let mut line = Vec::new();
        let n = probe.read_until(b'\n', &mut line)? as u64;
        (line.last() == Some(&b'\n') && mid + n < size).then_some(mid + n)
    };
    let Some(split) = split else {
        while first.read_byte_record(&mut rec).map_err(invalid_data)? {
            mine.record(rec.iter().map(Cow::Borrowed), 0);
        }
        return Ok((mine.finish()?, false));
    };
    let theirs = labelled.fresh();
    let second = move || -> std::io::Result<Frame> {
        let mut f = std::fs::File::open(path)?;
        f.seek(SeekFrom::Start(split))?;
        let mut sink = theirs;
        let mut csv = csv_reader(delim, comment, BufReader::with_capacity(1 << 20, f));
        let mut rec = csv::ByteRecord::new();
        while csv.read_byte_record(&mut rec).map_err(invalid_data)? {
            sink.record(rec.iter().map(Cow::Borrowed), 0);
            if sink.rows == SAMPLE_ROWS {
                sink.reserve(csv.position().byte(), size - split);
            }
        }
        sink.finish()
    };
    // Where the record just read starts in the file. After a CRLF the
    // reader places the next record at the LF, one byte early (the
    // split follows an LF, so no record starts one byte before it).
    let starts = |rec: &csv::ByteRecord| base + rec.position().map_or(0, csv::Position::byte);
    let first_half = || -> std::io::Result<Option<u64>> {
        while first.read_byte_record(&mut rec).map_err(invalid_data)? {
            let here = starts(&rec);
            if here + 1 >= split {
                return Ok(Some(here));
            }
            mine.record(rec.iter().map(Cow::Borrowed), 0);
            if mine.rows == SAMPLE_ROWS {
                // Room for the second half too: it is appended here.
                mine.reserve(here - start, size - start);
            }
        }
        Ok(None)
    };
    let (at, theirs) = rayon::join(first_half, second);
    match at? {
        Some(at) if at == split || at + 1 == split => {
            let mut frame = mine.finish()?;
            frame.append(theirs?);
            return Ok((frame, true));
        }
        // A quoted cell spans the split: finish alone.
        Some(_) => mine.record(rec.iter().map(Cow::Borrowed), 0),
        // The file ends before the split (only blank lines after it).
        None => return Ok((mine.finish()?, false)),
    }
    while first.read_byte_record(&mut rec).map_err(invalid_data)? {
        mine.record(rec.iter().map(Cow::Borrowed), 0);
    }
    Ok((mine.finish()?, false))
}

/// Collects records into columns, the first record giving labels.
struct Sink<'n> {
    labels: Labels,
    needed: Option<&'n HashSet<String>>,
    seeds: &'n HashMap<String, Symbols>,
    enc: Option<&'static Encoding>,
    names: Option<Vec<String>>,
    /// For each source position, the builder index (`None`: not needed).
    slots: Vec<Option<usize>>,
    builders: Vec<ColumnBuilder>,
    rows: usize,
    origins: Option<Vec<RowOrigin>>,
    /// A row's line was past what a [`RowOrigin`] can number: the first
    /// such line (the read then fails rather than point elsewhere).
    line_past: Option<usize>,
    file_id: u32,
    /// Records not yet interned (labelled files with several columns).
    batch: Batch,
    /// Whether records are buffered and their columns interned side by
    /// side.
    parallel: bool,
    /// The labels record as read (before dropping unneeded fields).
    labels_row: Option<Vec<String>>,
}

/// Cells of buffered records, builder-major within a record: cell `k` of
/// the batch is `bytes[ends[k - 1]..ends[k]]`.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    rows: usize,
}

/// Records buffered before their cells are interned, the columns side by
/// side: columns are independent, so each keeps its own order and ids are
/// what one pass would give.
const BATCH_ROWS: usize = 1 << 16;

impl Batch {
    fn cell(&self, k: usize) -> &[u8] {
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: k < ends.len(), ends ascend and none passes bytes.len()"
        )]
        let (start, end) = (k.checked_sub(1).map_or(0, |p| self.ends[p]), self.ends[k]);
        #[expect(clippy::indexing_slicing, reason = "INVARIANT: as above")]
        &self.bytes[start..end]
    }
}

/// Interns column `b` of every record of `batch` (`width` columns).
fn intern_column(
    batch: &Batch,
    width: usize,
    b: usize,
    builder: &mut ColumnBuilder,
    enc: Option<&'static Encoding>,
) {
    for r in 0..batch.rows {
        builder.push(batch.cell(r * width + b), enc);
    }
}

impl<'n> Sink<'n> {
    fn new(
        labels: Labels,
        needed: Option<&'n HashSet<String>>,
        seeds: &'n HashMap<String, Symbols>,
        enc: Option<&'static Encoding>,
        track: bool,
        file_id: u32,
    ) -> Self {
        Self {
            labels,
            needed,
            seeds,
            enc,
            names: None,
            slots: Vec::new(),
            builders: Vec::new(),
            rows: 0,
            origins: track.then(Vec::new),
            line_past: None,
            file_id,
            batch: Batch::default(),
            parallel: labels == Labels::Embedded,
            labels_row: None,
        }
    }

    /// An empty sink for more records of the same file (same labels and
    /// fields), interning each record as it comes (one half of a file read
    /// in halves: the halves are what runs side by side).
    fn fresh(&self) -> Sink<'n> {
        let mut sink = Sink::new(
            self.labels,
            self.needed,
            self.seeds,
            self.enc,
            false,
            self.file_id,
        );
        sink.parallel = false;
        if let Some(all) = &self.labels_row {
            sink.set_names(all.clone());
        }
        sink
    }

    /// Interns the buffered records, the columns side by side.
    fn flush(&mut self) {
        let width = self.builders.len();
        if self.batch.rows == 0 {
            return;
        }
        let batch = &self.batch;
        let enc = self.enc;
        self.builders
            .as_mut_slice()
            .into_par_iter()
            .enumerate()
            .with_max_len(1)
            .for_each(|(b, builder)| intern_column(batch, width, b, builder, enc));
        self.batch.bytes.clear();
        self.batch.ends.clear();
        self.batch.rows = 0;
    }

    /// Buffers a record of a labelled file (fixed width).
    fn buffer<'c>(&mut self, cells: impl Iterator<Item = Cow<'c, [u8]>>) {
        let width = self.builders.len();
        let first = self.batch.ends.len();
        for (i, cell) in cells.enumerate() {
            match self.slots.get(i) {
                Some(Some(_)) => {
                    self.batch.bytes.extend_from_slice(&cell);
                    self.batch.ends.push(self.batch.bytes.len());
                }
                Some(None) => {}
                None => break,
            }
        }
        // Short records: the missing cells are empty, as in Qlik.
        while self.batch.ends.len() < first + width {
            self.batch.ends.push(self.batch.bytes.len());
        }
        self.batch.rows += 1;
        if self.batch.rows >= BATCH_ROWS {
            self.flush();
        }
    }

    fn set_names(&mut self, all: Vec<String>) {
        self.labels_row = Some(all.clone());
        let mut names = Vec::new();
        for n in &all {
            let wanted = self.needed.is_none_or(|s| s.contains(n));
            if wanted && !names.contains(n) {
                self.slots.push(Some(names.len()));
                names.push(n.clone());
                let mut builder = ColumnBuilder::new();
                if let Some(seed) = self.seeds.get(n) {
                    builder.col.syms = seed.clone();
                }
                self.builders.push(builder);
            } else {
                self.slots.push(None);
            }
        }
        self.names = Some(names);
    }

    fn record<'c>(&mut self, cells: impl Iterator<Item = Cow<'c, [u8]>>, line: usize) {
        if self.names.is_none() {
            match self.labels {
                Labels::Embedded => {
                    let names = cells
                        .map(|c| decode(&c, self.enc).trim().to_string())
                        .collect();
                    self.set_names(names);
                    return;
                }
                Labels::None => {
                    // Width is taken from the first record; a later wider
                    // record adds fields (filled with NULL before it).
                    self.set_names(Vec::new());
                }
            }
        }
        if self.parallel && self.builders.len() > 1 {
            self.buffer(cells);
            self.finish_record(line);
            return;
        }
        let mut seen = 0;
        for (i, cell) in cells.enumerate() {
            seen = i + 1;
            if i >= self.slots.len() {
                if self.labels == Labels::Embedded {
                    break;
                }
                self.grow(i + 1);
            }
            if let Some(Some(b)) = self.slots.get(i)
                && let Some(builder) = self.builders.get_mut(*b)
            {
                builder.push(&cell, self.enc);
            }
        }
        // Short records: the missing cells are empty, as in Qlik.
        for i in seen..self.slots.len() {
            if let Some(Some(b)) = self.slots.get(i)
                && let Some(builder) = self.builders.get_mut(*b)
            {
                builder.push(b"", self.enc);
            }
        }
        self.finish_record(line);
    }

    /// Reserves room for the rows of `total` bytes, judging by the rows of
    /// the first `read` bytes (a little more: rows vary). Room never
    /// written costs address space, not memory.
    fn reserve(&mut self, read: u64, total: u64) {
        if read == 0 {
            return;
        }
        let rows = self.rows as u64;
        let expected = rows.saturating_mul(total) / read;
        let more = usize::try_from(expected + expected / 16)
            .unwrap_or(0)
            .saturating_sub(self.rows);
        for b in &mut self.builders {
            b.col.ids.reserve_exact(more);
        }
    }

    fn finish_record(&mut self, line: usize) {
        self.rows += 1;
        if let Some(o) = &mut self.origins {
            match u32::try_from(line) {
                Ok(line) => o.push(RowOrigin {
                    file: self.file_id,
                    line,
                }),
                Err(_) => {
                    self.line_past.get_or_insert(line);
                }
            }
        }
    }

    fn grow(&mut self, width: usize) {
        let names = self.names.get_or_insert_with(Vec::new);
        while self.slots.len() < width {
            let name = format!("@{}", self.slots.len() + 1);
            let wanted = self.needed.is_none_or(|s| s.contains(&name));
            if wanted {
                self.slots.push(Some(names.len()));
                names.push(name);
                let mut b = ColumnBuilder::new();
                b.col.ids = vec![SymbolId::NULL; self.rows];
                self.builders.push(b);
            } else {
                self.slots.push(None);
            }
        }
    }

    /// The frame read; an error when a row of a security table lies on a
    /// line past what its origin can number.
    fn finish(mut self) -> std::io::Result<Frame> {
        if let Some(line) = self.line_past {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a row of this security table is on line {line}, past line {}, the last a row can point at",
                    u32::MAX
                ),
            ));
        }
        self.flush();
        Ok(Frame {
            names: self.names.unwrap_or_default(),
            cols: self.builders.into_iter().map(|b| b.col).collect(),
            rows: self.rows,
            origins: self.origins,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_security_row_past_the_last_numbered_line_fails_the_read() {
        let seeds = HashMap::new();
        let mut sink = Sink::new(Labels::Embedded, None, &seeds, None, true, 0);
        let cells = |c: &'static [&'static [u8]]| c.iter().map(|&b| Cow::Borrowed(b));
        sink.record(cells(&[b"USERID"]), 1);
        sink.record(cells(&[b"ANNA"]), 2);
        let past = u32::MAX as usize + 7;
        sink.record(cells(&[b"BOB"]), past);
        let err = sink
            .finish()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(&format!("line {past}")), "{err}");
    }

    #[test]
    fn halves_read_what_one_pass_reads() {
        let msq = TextFormat {
            quoting: Quoting::Msq,
            ..TextFormat::new()
        };
        let headed = TextFormat {
            header_lines: 1,
            comment: Some(b"#".to_vec()),
            ..msq.clone()
        };
        let mut rows = String::from("ID,NAME,AMOUNT,SEQ\n");
        for i in 0..400 {
            // SEQ: a run of integers continuing across the halves.
            rows.push_str(&format!(
                "{},n{},{}.{:02},{}\n",
                i % 37,
                i % 11,
                i % 5,
                i % 100,
                i + 7
            ));
        }
        let quoted_middle = {
            let mut s = String::from("A,B\n");
            for i in 0..50 {
                s.push_str(&format!("{i},x\n"));
            }
            // A quoted cell with line breaks across the middle of the file.
            s.push_str(&format!("99,\"{}\"\n", "line\n".repeat(60)));
            for i in 0..50 {
                s.push_str(&format!("{i},\"y\"\"z\"\n"));
            }
            s
        };
        let cases: Vec<(&str, String, &TextFormat)> = vec![
            ("plain", rows.clone(), &msq),
            ("crlf", rows.replace('\n', "\r\n"), &msq),
            ("headed", format!("title line\n{rows}# note\n"), &headed),
            ("short-rows", format!("{rows}7\n8,only\n"), &msq),
            ("quoted-middle", quoted_middle, &msq),
            ("one-row", String::from("A,B\n1,2\n"), &msq),
            ("labels-only", String::from("A,B\n"), &msq),
        ];
        let dir = std::env::temp_dir().join(format!("sa-halves-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut seeds = HashMap::new();
        let mut run = Symbols::default();
        for i in 0..20 {
            run.intern(crate::model::Value::Num(f64::from(i)));
        }
        seeds.insert(String::from("ID"), run);
        // Read in pools of one thread and of four: columns interned side
        // by side, halves read side by side, the same frame.
        let pools = [1, 4].map(|n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        });
        let standard = TextFormat::new();
        let mut cases = cases;
        cases.push(("standard", rows.clone(), &standard));
        for (name, text, fmt) in cases {
            let path = dir.join(format!("{name}.csv"));
            std::fs::write(&path, &text).unwrap();
            for seeds in [HashMap::new(), seeds.clone()] {
                let (one, split) =
                    read_file_split(&path, fmt, None, &seeds, (false, 0), u64::MAX).unwrap();
                assert!(!split);
                assert!(one.frame.rows > 0 || name == "labels-only", "{name}");
                for pool in &pools {
                    let (two, split) = pool
                        .install(|| read_file_split(&path, fmt, None, &seeds, (false, 0), 0))
                        .unwrap();
                    assert_eq!(one.frame.dump(), two.frame.dump(), "{name}");
                    // Halves unless a quoted cell spans the middle (or there
                    // is no second half, or the file is not `msq`).
                    let expect = !matches!(
                        name,
                        "quoted-middle" | "one-row" | "labels-only" | "standard"
                    );
                    assert_eq!(split, expect, "{name}");
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn cells(line: &str, delim: &str, q: Quoting) -> Vec<String> {
        let mut out = Vec::new();
        split_line(line.as_bytes(), delim.as_bytes(), q, &mut out);
        out.iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    #[test]
    fn standard_quoting_only_around_whole_cells() {
        assert_eq!(cells(" a , b ,c", ",", Quoting::Standard), ["a", "b", "c"]);
        assert_eq!(cells("\"a,b\", 'c'", ",", Quoting::Standard), ["a,b", "c"]);
        assert_eq!(cells("it's, x", ",", Quoting::Standard), ["it's", "x"]);
        assert_eq!(
            cells("'a''b', \"x\"y\"", ",", Quoting::Standard),
            ["a'b", "x\"y"]
        );
        assert_eq!(cells("\"a,b\"", ",", Quoting::None), ["\"a", "b\""]);
        assert_eq!(cells("a,,", ",", Quoting::Standard), ["a", "", ""]);
        assert_eq!(cells("a\tb c", "\t", Quoting::Standard), ["a", "b c"]);
        assert_eq!(
            cells("  a   b 'c d' ", " ", Quoting::Standard),
            ["a", "b", "c d"]
        );
        assert_eq!(
            cells("'unclosed, x", ",", Quoting::Standard),
            ["'unclosed", "x"]
        );
    }
}
