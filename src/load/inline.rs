//! `LOAD … INLINE [ … ]` tables, with Qlik's rules: each non-blank line is a
//! record; the first one holds the field names unless `no labels` /
//! `explicit labels`; `,` unless `delimiter is`; standard quoting (`"` or `'`
//! around a whole cell); unquoted blanks trimmed; an empty cell is an empty
//! string, not NULL; a short row is padded with empty cells and a long one
//! loses its extra cells, both with a `ragged-inline-row` warning.
//!
//! A table is read in two phases. The lines are cut into cells, each kept
//! as where it lies in the text; then each column's cells are interned in
//! row order. Large tables are cut in chunks of lines side by side, then
//! their columns interned side by side, each over the chunks in order
//! ([`board`]): a column of a million user ids goes into one symbol table
//! once, never into pieces that must be joined.

mod board;

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};

use crate::model::{RowOrigin, SymbolId};

use super::delimited::{Labels, TextFormat, at_names, split_cells};
use super::frame::{Frame, FrameColumn};
use board::Plan;

/// A row whose width differs from the header's.
#[derive(Clone)]
pub(crate) struct Ragged {
    /// Byte offset of the line in the INLINE text.
    pub offset: usize,
    /// Byte length of the line.
    pub len: usize,
    /// 1-based line in the file.
    pub line: u32,
    /// Cells the header has.
    pub expected: usize,
    /// Cells the row has.
    pub got: usize,
}

/// An INLINE text of 4 GiB or more: its cells are placed with 32-bit
/// offsets, as every place in a script is.
#[derive(Debug)]
pub(crate) struct TooLarge;

/// Cells of a column looked at to judge how many distinct values it has.
const SAMPLE_CELLS: usize = 1024;

/// Reads an INLINE table. `upper`: upper-case every cell and label (INLINE
/// loads run in section access, SPEC §3). `first_line`: the file line the
/// text starts on; `file`: the source index for row origins.
pub(crate) fn read_inline(
    text: &str,
    fmt: &TextFormat,
    upper: bool,
    file: u32,
    first_line: u32,
) -> Result<(Frame, Vec<Ragged>), TooLarge> {
    let plan = Plan::for_text(text.len());
    read_inline_planned(text, fmt, (upper, file, first_line), plan)
}

/// [`read_inline`], its lines cut and interned as `plan` says.
///
/// Records are lines, so chunks of lines are exact: after the labels, the
/// rest is cut into chunks, and each column is interned chunk after chunk,
/// so ids are what one pass gives.
fn read_inline_planned(
    text: &str,
    fmt: &TextFormat,
    (upper, file, first_line): (bool, u32, u32),
    plan: Plan,
) -> Result<(Frame, Vec<Ragged>), TooLarge> {
    // Every offset must fit below `OWNED`.
    if !u32::try_from(text.len()).is_ok_and(|n| n < OWNED) {
        return Err(TooLarge);
    }
    let mut first = Lines::new(fmt, upper, file);
    let body = first.labels(text, first_line);
    // INVARIANT: labels() returns the end of a line of text, a char
    // boundary.
    #[expect(
        clippy::expect_used,
        reason = "INVARIANT: text.len() < OWNED = u32::MAX bounds its line breaks"
    )]
    let breaks = u32::try_from(newlines(&text[..body])).expect("text offsets fit u32");
    let line = first_line.saturating_add(breaks);
    // Without labels the width comes from the first record: one chunk.
    let plan = if first.names.is_some() {
        plan
    } else {
        Plan::whole()
    };
    let read = board::read(text, &first, (body, line), plan);
    let mut rows = 0;
    let mut ragged = Vec::new();
    let mut names = first.names;
    for chunk in read.chunks {
        rows += chunk.rows;
        ragged.extend(chunk.ragged.iter().cloned());
        if names.is_none() {
            names.clone_from(&chunk.names);
        }
    }
    let frame = Frame {
        names: names.unwrap_or_default(),
        cols: read.columns,
        rows,
        origins: Some(read.origins),
    };
    Ok((frame, ragged))
}

/// Line breaks in `text`.
fn newlines(text: &str) -> usize {
    memchr::memchr_iter(b'\n', text.as_bytes()).count()
}

/// `line` starts with `prefix`, once upper-cased when `upper`.
fn starts_with(line: &str, prefix: &[u8], upper: bool) -> bool {
    if !upper {
        return line.as_bytes().starts_with(prefix);
    }
    let mut bytes = line.chars().flat_map(char::to_uppercase).flat_map(|c| {
        let mut buf = [0; 4];
        let n = c.encode_utf8(&mut buf).len();
        buf.into_iter().take(n)
    });
    prefix.iter().all(|&p| bytes.next() == Some(p))
}

/// `cell`, upper-cased when `upper` (into `scratch` when that changes it).
fn cased<'c>(cell: &'c str, upper: bool, scratch: &'c mut String) -> &'c str {
    if !upper {
        return cell;
    }
    if cell.is_ascii() {
        if !cell.bytes().any(|b| b.is_ascii_lowercase()) {
            return cell;
        }
        scratch.clear();
        scratch.push_str(cell);
        scratch.make_ascii_uppercase();
    } else {
        *scratch = cell.to_uppercase();
    }
    scratch
}

/// Marks a cell kept in [`Lines::owned`] (its content differs from its
/// text: doubled quotes); its second number is the index there.
const OWNED: u32 = u32::MAX;

/// Where a cell is: bytes `[start, start + len)` of the INLINE text, or,
/// with start [`OWNED`], entry `len` of its part's owned cells.
type Cell = [u32; 2];

/// An empty cell, for the missing cells of short rows.
const EMPTY: Cell = [0, 0];

/// A column's cells while its chunk is cut (no lock is taken: the
/// chunk is not shared yet).
fn column_mut(column: &mut Mutex<Vec<Cell>>) -> &mut Vec<Cell> {
    column.get_mut().unwrap_or_else(PoisonError::into_inner)
}

/// Lines of an INLINE text cut into cells, column by column.
struct Lines<'f> {
    fmt: &'f TextFormat,
    upper: bool,
    file: u32,
    names: Option<Vec<String>>,
    /// Per column, each row's cell, until the column is interned: it
    /// takes them ([`Lines::take_column`]), and they are freed as soon as
    /// they are, not when every column has read the chunk.
    cells: Vec<Mutex<Vec<Cell>>>,
    /// Cells whose content is not a slice of the text.
    owned: Vec<String>,
    origins: Vec<RowOrigin>,
    rows: usize,
    ragged: Vec<Ragged>,
    skipped_header: usize,
}

impl<'f> Lines<'f> {
    fn new(fmt: &'f TextFormat, upper: bool, file: u32) -> Self {
        Self {
            fmt,
            upper,
            file,
            names: None,
            cells: Vec::new(),
            owned: Vec::new(),
            origins: Vec::new(),
            rows: 0,
            ragged: Vec::new(),
            skipped_header: 0,
        }
    }

    /// Empty columns for more lines of the same table.
    fn fresh(&self) -> Self {
        Self {
            names: self.names.clone(),
            cells: self.cells.iter().map(|_| Mutex::default()).collect(),
            skipped_header: self.skipped_header,
            ..Self::new(self.fmt, self.upper, self.file)
        }
    }

    /// Room for `rows` more rows.
    fn reserve(&mut self, rows: usize) {
        for column in &mut self.cells {
            column_mut(column).reserve_exact(rows);
        }
        self.origins.reserve(rows);
    }

    /// Column `c`'s cells, taken out: later calls give none.
    fn take_column(&self, c: usize) -> Vec<Cell> {
        self.cells.get(c).map_or_else(Vec::new, |column| {
            std::mem::take(&mut *column.lock().unwrap_or_else(PoisonError::into_inner))
        })
    }

    /// The content of `cell` (before upper-casing).
    fn cell<'t>(&'t self, text: &'t str, [start, len]: Cell) -> &'t str {
        #[expect(
            clippy::indexing_slicing,
            reason = "INVARIANT: an owned cell's len is its text's number in owned (pushed with it)"
        )]
        // INVARIANT: any other cell is a range of the text it was cut
        // from, at char boundaries.
        if start == OWNED {
            &self.owned[len as usize]
        } else {
            let start = start as usize;
            &text[start..start + len as usize]
        }
    }

    /// Reads lines up to and including the labels (all of them for `no
    /// labels`, whose first record is data); returns where the rest starts.
    fn labels(&mut self, text: &str, first_line: u32) -> usize {
        if self.fmt.labels == Labels::None {
            return 0;
        }
        let mut offset = 0;
        // Lines are counted in u32 (a text past u32 offsets is refused
        // before).
        for (i, raw) in (0..u32::MAX).zip(text.split_inclusive('\n')) {
            let line_no = first_line.saturating_add(i);
            self.feed(text, offset..offset + raw.len(), line_no);
            offset += raw.len();
            if self.names.is_some() {
                break;
            }
        }
        offset
    }

    /// Reads bytes `range` of `text`, which start on line `first_line`.
    fn feed(&mut self, text: &str, range: std::ops::Range<usize>, first_line: u32) {
        let fmt = self.fmt;
        // INVARIANT: range is a run of whole lines of text (labels() or a
        // chunk of cut_points()).
        let part = &text[range.clone()];
        let mut row: Vec<Cell> = Vec::new();
        let mut at = range.start;
        // Lines are counted in u32 (a text past u32 offsets is refused
        // before).
        for (i, raw) in (0..u32::MAX).zip(part.split('\n')) {
            let line_offset = at;
            at += raw.len() + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let line_no = first_line.saturating_add(i);
            if line.trim().is_empty() {
                continue;
            }
            if self.skipped_header < fmt.header_lines {
                self.skipped_header += 1;
                continue;
            }
            if fmt
                .comment
                .as_deref()
                .is_some_and(|c| starts_with(line, c, self.upper))
            {
                continue;
            }
            row.clear();
            let owned = &mut self.owned;
            split_cells(
                line.as_bytes(),
                &fmt.delimiter,
                fmt.quoting,
                |cell, start| {
                    let place = match cell {
                        Cow::Borrowed(b) => [line_offset + start, b.len()].map(|n| n as u32),
                        Cow::Owned(b) => {
                            owned.push(String::from_utf8_lossy(&b).into_owned());
                            [OWNED, (owned.len() - 1) as u32]
                        }
                    };
                    row.push(place);
                },
            );
            let width = match &self.names {
                Some(n) => n.len(),
                None => {
                    let names = match fmt.labels {
                        Labels::Embedded => {
                            let mut scratch = String::new();
                            let labels = row
                                .iter()
                                .map(|&c| {
                                    cased(self.cell(text, c), self.upper, &mut scratch).to_string()
                                })
                                .collect();
                            self.cells = row.iter().map(|_| Mutex::default()).collect();
                            self.names = Some(labels);
                            continue;
                        }
                        Labels::None => at_names(row.len()),
                    };
                    self.cells = names.iter().map(|_| Mutex::default()).collect();
                    let w = names.len();
                    self.names = Some(names);
                    w
                }
            };
            if row.len() != width {
                self.ragged.push(Ragged {
                    offset: line_offset,
                    len: line.len(),
                    line: line_no,
                    expected: width,
                    got: row.len(),
                });
            }
            for (c, column) in self.cells.iter_mut().enumerate() {
                column_mut(column).push(row.get(c).copied().unwrap_or(EMPTY));
            }
            self.rows += 1;
            self.origins.push(RowOrigin {
                file: self.file,
                line: line_no,
            });
        }
    }
}

/// One column being interned, chunk after chunk, in row order.
struct ColumnWork {
    /// The column.
    c: usize,
    col: FrameColumn,
    /// Rows the whole text is expected to have.
    expected: usize,
    scratch: String,
    /// For a column of few distinct values: the ids of its recent cells.
    recent: Option<Recent>,
}

impl ColumnWork {
    /// Column `c`; `distinct`: texts among the first [`SAMPLE_CELLS`] of
    /// its cells; `expected`: rows of the whole text.
    fn new(c: usize, distinct: usize, expected: usize) -> Self {
        let mut col = FrameColumn::default();
        col.ids.reserve_exact(expected);
        Self {
            c,
            col,
            expected,
            scratch: String::new(),
            recent: (distinct <= RECENT_SLOTS / 2).then(Recent::new),
        }
    }

    /// Interns the column's cells of `chunk`, the next one in order, and
    /// frees them.
    fn add(&mut self, text: &str, chunk: &Lines) {
        let upper = chunk.upper;
        for cell in chunk.take_column(self.c) {
            let raw = chunk.cell(text, cell);
            let key = self.recent.as_ref().and_then(|_| Recent::key(raw));
            if let Some(id) = key.and_then(|k| self.recent.as_ref()?.get(k)) {
                self.col.ids.push(id);
                continue;
            }
            let cell = cased(raw, upper, &mut self.scratch);
            let syms = &mut self.col.syms;
            let id = syms
                .find_plain(cell.as_bytes())
                .unwrap_or_else(|| syms.intern_text(cell));
            if let (Some(recent), Some(k)) = (&mut self.recent, key) {
                recent.put(k, id);
            }
            self.col.ids.push(id);
            let seen = self.col.ids.len();
            if seen == SAMPLE_CELLS && 2 * self.col.syms.len() >= seen {
                // Mostly distinct (ids, names): room for as many more as
                // the first cells promise, so the table grows once rather
                // than ten times, each a rehash of all it holds.
                let more = self.expected.saturating_sub(seen);
                self.col
                    .syms
                    .reserve(more.saturating_mul(self.col.syms.len()) / seen);
            }
        }
    }
}

/// Slots of a [`Recent`] cache.
const RECENT_SLOTS: usize = 256;

/// The ids of recently seen short cells, by their bytes: a column of few
/// values (`ACCESS`, country codes) finds most cells here, without
/// upper-casing, parsing, hashing or comparing texts. A cell of at most
/// 16 bytes is its own key, so a hit needs no check.
struct Recent {
    slots: Box<[(RecentKey, SymbolId)]>,
}

/// A cell's bytes, zero-padded, and its length plus one (0: empty slot).
type RecentKey = (u128, u8);

impl Recent {
    fn new() -> Self {
        Self {
            slots: vec![((0, 0), SymbolId::NULL); RECENT_SLOTS].into_boxed_slice(),
        }
    }

    /// The key of `cell`, if it is short enough to be one.
    fn key(cell: &str) -> Option<RecentKey> {
        let bytes = cell.as_bytes();
        let mut buf = [0u8; 16];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some((
            u128::from_le_bytes(buf),
            u8::try_from(bytes.len() + 1).ok()?,
        ))
    }

    fn slot(&self, (bits, len): RecentKey) -> usize {
        let mixed = (bits as u64 ^ (bits >> 64) as u64 ^ u64::from(len))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 56) as usize % self.slots.len().max(1)
    }

    fn get(&self, key: RecentKey) -> Option<SymbolId> {
        let &(k, id) = self.slots.get(self.slot(key))?;
        (k == key).then_some(id)
    }

    fn put(&mut self, key: RecentKey, id: SymbolId) {
        let at = self.slot(key);
        if let Some(slot) = self.slots.get_mut(at) {
            *slot = (key, id);
        }
    }
}

/// The columns of `chunk` in the order they are taken, each with its
/// distinct texts among its first [`SAMPLE_CELLS`] cells: most first.
fn column_order(text: &str, chunk: &Lines) -> Vec<(usize, usize)> {
    let distinct = |c: usize| {
        let Some(column) = chunk.cells.get(c) else {
            return 0;
        };
        let cells = column.lock().unwrap_or_else(PoisonError::into_inner);
        let texts: std::collections::HashSet<&str> = cells
            .iter()
            .take(SAMPLE_CELLS)
            .map(|&cell| chunk.cell(text, cell))
            .collect();
        texts.len()
    };
    let width = chunk.names.as_ref().map_or(0, Vec::len);
    let mut order: Vec<(usize, usize)> = (0..width).map(|c| (distinct(c), c)).collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    order.into_iter().map(|(d, c)| (c, d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(f: &Frame) -> Vec<Vec<String>> {
        (0..f.rows)
            .map(|r| {
                (0..f.cols.len())
                    .map(|c| f.value(c, r).text().into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn header_padding_quoting_and_upper_casing() {
        let text = "\nA, B , C\n x ,'y, z'\n\n1,2,3,4\n";
        let (f, ragged) = read_inline(text, &TextFormat::new(), false, 0, 10).unwrap();
        assert_eq!(f.names, ["A", "B", "C"]);
        assert_eq!(shown(&f), [["x", "y, z", ""], ["1", "2", "3"]]);
        assert_eq!(ragged.len(), 2);
        assert_eq!(ragged.first().map(|r| r.line), Some(12));
        assert_eq!(
            f.origins.as_ref().and_then(|o| o.get(1)).map(|o| o.line),
            Some(14)
        );
        let (u, _) = read_inline("a,b\nus,x\n", &TextFormat::new(), true, 0, 1).unwrap();
        assert_eq!(u.names, ["A", "B"]);
        assert_eq!(shown(&u), [["US", "X"]]);
        // Not ASCII: upper-cased character by character.
        let (u, _) = read_inline("a\nsé\n", &TextFormat::new(), true, 0, 1).unwrap();
        assert_eq!(shown(&u), [["SÉ"]]);
    }

    #[test]
    fn cells_upper_cased_as_read_are_the_text_upper_cased_first() {
        let commented = |c: &[u8]| TextFormat {
            comment: Some(c.to_vec()),
            ..TextFormat::new()
        };
        let text = "access, userId, 'Grp'\nuser, ann, 'a, \"b\"'\nrem x, y\nREM z\nadmin, Bo\nuser,x,y,zz\n";
        for fmt in [TextFormat::new(), commented(b"REM"), commented(b"rem")] {
            let as_read = read_inline(text, &fmt, true, 0, 1).unwrap();
            let first = read_inline(&text.to_ascii_uppercase(), &fmt, false, 0, 1).unwrap();
            assert_eq!(
                everything(&as_read),
                everything(&first),
                "{:?}",
                fmt.comment
            );
        }
        // Other text is upper-cased character by character, which may
        // change its length (`ß`) or make ASCII of it (`ſ`, `ı`).
        let other = "a, b\nnaïve ß, ıd\nſt, x\nst, y, z\n";
        let as_read = read_inline(other, &commented(b"ST"), true, 0, 1).unwrap();
        let first = read_inline(&other.to_uppercase(), &commented(b"ST"), false, 0, 1).unwrap();
        assert_eq!(as_read.0.dump(), first.0.dump());
        assert_eq!(as_read.0.rows, 1, "`ſt` and `st` start comments");
        assert_eq!(shown(&as_read.0), [["NAÏVE SS", "ID"]]);
        let (f, _) = read_inline(text, &commented(b"REM"), true, 0, 1).unwrap();
        assert_eq!(f.names, ["ACCESS", "USERID", "GRP"]);
        assert_eq!(f.rows, 3, "both `rem` lines are comments once upper-cased");
    }

    /// Everything a read gives, as text: the frame and the ragged rows.
    fn everything(read: &(Frame, Vec<Ragged>)) -> String {
        let (f, ragged) = read;
        let ragged: Vec<(usize, usize, u32, usize)> = ragged
            .iter()
            .map(|r| (r.offset, r.len, r.line, r.got))
            .collect();
        format!("{} {ragged:?}", f.dump())
    }

    #[test]
    fn chunks_read_what_one_pass_reads() {
        let mut body = String::new();
        // More rows than a column's sample: ids columns get their room.
        for i in 0..1500 {
            body.push_str(&format!("user, U{i}, g{}, 'c, {}'\n", i % 7, i % 13));
            if i % 40 == 0 {
                body.push_str("admin, 'it''s', \"x\"\"y\", z\n");
            }
            if i % 50 == 0 {
                body.push_str("\n  \n# not a comment here\nx\n");
            }
        }
        let commented = TextFormat {
            header_lines: 1,
            comment: Some(b"#".to_vec()),
            ..TextFormat::new()
        };
        let cases = [
            (
                format!("\nACCESS, USERID, GROUP, COUNTRY\n{body}"),
                TextFormat::new(),
            ),
            (
                format!("A,B,C,D\r\n{}", body.replace('\n', "\r\n")),
                TextFormat::new(),
            ),
            (format!("title\n\nA,B,C,D\n{body}"), commented),
            (String::from("A,B\n1,2\n"), TextFormat::new()),
            (String::from("A,B\n"), TextFormat::new()),
        ];
        // Chunks of one line, of a few lines, of many; in pools of one
        // thread and of four.
        let plans = [
            Plan::chunks(0),
            Plan::chunks(1),
            Plan::chunks(100),
            Plan::chunks(2000),
        ];
        let pools = [1, 4].map(|n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        });
        for (text, fmt) in &cases {
            for upper in [false, true] {
                let one = read_inline_planned(text, fmt, (upper, 0, 5), Plan::whole()).unwrap();
                for plan in plans {
                    for pool in &pools {
                        let chunked = pool
                            .install(|| read_inline_planned(text, fmt, (upper, 0, 5), plan))
                            .unwrap();
                        assert_eq!(everything(&one), everything(&chunked), "{plan:?} {text:?}");
                    }
                }
            }
        }
        // Without labels the width comes from the first record: one chunk.
        let mut no_labels = TextFormat::new();
        no_labels.labels = Labels::None;
        let text = "\n\na,b\nc,d,e\nf\n";
        let one = read_inline_planned(text, &no_labels, (false, 0, 1), Plan::whole()).unwrap();
        let chunked =
            read_inline_planned(text, &no_labels, (false, 0, 1), Plan::chunks(0)).unwrap();
        assert_eq!(everything(&one), everything(&chunked));
        assert_eq!(one.0.names, ["@1", "@2"]);
    }

    #[test]
    fn columns_of_few_values_read_each_cell_as_written() {
        // A hundred values in the first rows (the column gets a cache of
        // recent cells), then many more, of up to 16 bytes and beyond,
        // lower case (upper-cased as read), numbers with leading zeros.
        let value = |i: usize| match i % 7 {
            0 => format!("v{}", i % 100),
            1 => "x".repeat(i % 20 + 1),
            2 => format!("{}", i % 300),
            3 => format!("0{}", i % 300),
            4 => format!("abcdefghijklmno{}", i % 30),
            5 => format!("ü{}", i % 500),
            _ => format!("W{i}"),
        };
        let rows: Vec<String> = (0..1024)
            .map(|i| value(i % 100))
            .chain((0..5000).map(value))
            .collect();
        let text = format!("A\n{}\n", rows.join("\n"));
        for upper in [false, true] {
            let (f, _) = read_inline(&text, &TextFormat::new(), upper, 0, 1).unwrap();
            // What interning each cell in turn gives (`02` is `2` once
            // `2` is in: numbers are one value, as in Qlik).
            let mut syms = crate::model::Symbols::default();
            let want: Vec<String> = rows
                .iter()
                .map(|v| {
                    let v = if upper { v.to_uppercase() } else { v.clone() };
                    let id = syms.intern_text(&v);
                    syms.get(id).unwrap_or_default().text().into_owned()
                })
                .collect();
            let got: Vec<String> = (0..f.rows)
                .map(|r| f.value(0, r).text().into_owned())
                .collect();
            let wrong = got.iter().zip(&want).position(|(g, w)| g != w);
            assert_eq!(wrong, None, "upper {upper}");
            assert_eq!(got.len(), want.len());
        }
        assert!(Recent::key(&"x".repeat(16)).is_some());
        assert!(Recent::key(&"x".repeat(17)).is_none());
        assert_ne!(Recent::key(""), Recent::key("\0"));
    }

    #[test]
    fn empty_cells_are_empty_strings_and_numbers_are_duals() {
        let (f, _) = read_inline("A,B\n,01\n", &TextFormat::new(), false, 0, 1).unwrap();
        assert!(!f.value(0, 0).is_null());
        assert_eq!(f.value(0, 0).text(), "");
        assert_eq!(f.value(1, 0).num(), Some(1.0));
        assert_eq!(f.value(1, 0).text(), "01");
    }

    #[test]
    fn no_labels_names_fields_by_position() {
        let mut fmt = TextFormat::new();
        fmt.labels = Labels::None;
        fmt.delimiter = b";".to_vec();
        let (f, _) = read_inline("a;b\nc;d", &fmt, false, 0, 1).unwrap();
        assert_eq!(f.names, ["@1", "@2"]);
        assert_eq!(f.rows, 2);
    }
}
