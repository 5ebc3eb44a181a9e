//! `LOAD … INLINE [ … ]` tables, with Qlik's rules: each non-blank line is a
//! record; the first one holds the field names unless `no labels` /
//! `explicit labels`; `,` unless `delimiter is`; standard quoting (`"` or `'`
//! around a whole cell); unquoted blanks trimmed; an empty cell is an empty
//! string, not NULL; a short row is padded with empty cells and a long one
//! loses its extra cells, both with a `ragged-inline-row` warning.

use std::borrow::Cow;

use crate::model::RowOrigin;

use super::delimited::{ColumnBuilder, Labels, TextFormat, at_names, split_line};
use super::frame::Frame;

/// A row whose width differs from the header's.
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

/// INLINE texts at least this large are read in two halves on two threads.
const SPLIT_BYTES: usize = 4 << 20;

/// Reads an INLINE table. `upper`: upper-case every cell and label (INLINE
/// loads run in section access, SPEC §3). `first_line`: the file line the
/// text starts on; `file`: the source index for row origins.
pub(crate) fn read_inline(
    text: &str,
    fmt: &TextFormat,
    upper: bool,
    file: u32,
    first_line: u32,
) -> (Frame, Vec<Ragged>) {
    let split = if crate::par::available() {
        SPLIT_BYTES
    } else {
        usize::MAX
    };
    read_inline_split(text, fmt, (upper, file, first_line), split)
}

/// [`read_inline`], reading texts of at least `split` bytes in two halves.
///
/// Records are lines, so the halves are exact: after the labels, the rest
/// is cut after the line break nearest its middle; each half fills its own
/// columns, and the second's values are interned into the first's once
/// each, as a file's halves are.
fn read_inline_split(
    text: &str,
    fmt: &TextFormat,
    (upper, file, first_line): (bool, u32, u32),
    split: usize,
) -> (Frame, Vec<Ragged>) {
    let mut first = Lines::new(fmt, upper, file);
    let body = first.labels(text, first_line);
    let rest = text.get(body..).unwrap_or_default();
    // Without labels the width comes from the first record: no halves.
    let cut = (rest.len() >= split && first.names.is_some())
        .then(|| {
            let mid = rest.len() / 2;
            let nl = rest
                .as_bytes()
                .get(mid..)?
                .iter()
                .position(|&b| b == b'\n')?;
            Some(mid + nl + 1)
        })
        .flatten()
        .filter(|&c| c < rest.len());
    let newlines = |t: &str| u32::try_from(t.bytes().filter(|&c| c == b'\n').count());
    let line_a = first_line
        .saturating_add(newlines(text.get(..body).unwrap_or_default()).unwrap_or(u32::MAX));
    let Some(cut) = cut else {
        first.feed(rest, body, line_a);
        return first.finish();
    };
    let (a, b) = rest.split_at(cut);
    let mut second = first.fresh();
    // Lines before the second half, for its rows' line numbers.
    let lines_before = newlines(text.get(..body + cut).unwrap_or_default()).unwrap_or(u32::MAX);
    std::thread::scope(|s| {
        let handle = s.spawn(|| {
            second.feed(b, body + cut, first_line.saturating_add(lines_before));
            second
        });
        first.feed(a, body, line_a);
        let second = match handle.join() {
            Ok(l) => l,
            Err(e) => std::panic::resume_unwind(e),
        };
        let (mut frame, mut ragged) = first.finish();
        let (theirs, more) = second.finish();
        frame.append(theirs);
        ragged.extend(more);
        (frame, ragged)
    })
}

/// `line` starts with `prefix`, once upper-cased (ASCII) when `upper`.
fn starts_with(line: &[u8], prefix: &[u8], upper: bool) -> bool {
    line.get(..prefix.len()).is_some_and(|head| {
        head.iter()
            .zip(prefix)
            .all(|(&a, &b)| if upper { a.to_ascii_uppercase() } else { a } == b)
    })
}

/// The state of reading INLINE lines into columns.
struct Lines<'f> {
    fmt: &'f TextFormat,
    upper: bool,
    file: u32,
    names: Option<Vec<String>>,
    builders: Vec<ColumnBuilder>,
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
            builders: Vec::new(),
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
            builders: self.builders.iter().map(|_| ColumnBuilder::new()).collect(),
            skipped_header: self.skipped_header,
            ..Self::new(self.fmt, self.upper, self.file)
        }
    }

    /// Reads lines up to and including the labels (all of them for `no
    /// labels`, whose first record is data); returns where the rest starts.
    fn labels(&mut self, text: &str, first_line: u32) -> usize {
        if self.fmt.labels == Labels::None {
            return 0;
        }
        let mut offset = 0;
        for (i, raw) in text.split_inclusive('\n').enumerate() {
            let line_no = first_line.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
            self.feed(raw, offset, line_no);
            offset += raw.len();
            if self.names.is_some() {
                break;
            }
        }
        offset
    }

    /// Reads `part`, which starts at byte `offset` of the INLINE text, on
    /// line `first_line`.
    fn feed(&mut self, part: &str, offset: usize, first_line: u32) {
        // ASCII text (the usual case) is upper-cased bytewise, cell by
        // cell as it is read: the same result as upper-casing the text
        // first, many times faster than char by char, and without a copy
        // of a text that may be tens of megabytes. Other text is
        // upper-cased whole.
        let ascii_upper = self.upper && part.is_ascii();
        let part: Cow<'_, str> = if self.upper && !ascii_upper {
            Cow::Owned(part.to_uppercase())
        } else {
            Cow::Borrowed(part)
        };
        let fmt = self.fmt;
        let mut cells: Vec<Cow<'_, [u8]>> = Vec::new();
        let mut upper: Vec<u8> = Vec::new();
        let mut at = offset;
        for (i, raw) in part.split('\n').enumerate() {
            let line_offset = at;
            at += raw.len() + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let line_no = first_line.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
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
                .is_some_and(|c| starts_with(line.as_bytes(), c, ascii_upper))
            {
                continue;
            }
            split_line(line.as_bytes(), &fmt.delimiter, fmt.quoting, &mut cells);
            let width = match &self.names {
                Some(n) => n.len(),
                None => {
                    let n = match fmt.labels {
                        Labels::Embedded => {
                            let labels = cells
                                .iter()
                                .map(|c| {
                                    let label = String::from_utf8_lossy(c).into_owned();
                                    if ascii_upper {
                                        label.to_ascii_uppercase()
                                    } else {
                                        label
                                    }
                                })
                                .collect();
                            self.names = Some(labels);
                            self.builders =
                                (0..cells.len()).map(|_| ColumnBuilder::new()).collect();
                            continue;
                        }
                        Labels::None => at_names(cells.len()),
                    };
                    self.builders = (0..n.len()).map(|_| ColumnBuilder::new()).collect();
                    let w = n.len();
                    self.names = Some(n);
                    w
                }
            };
            if cells.len() != width {
                self.ragged.push(Ragged {
                    offset: line_offset,
                    len: line.len(),
                    line: line_no,
                    expected: width,
                    got: cells.len(),
                });
            }
            for (c, b) in self.builders.iter_mut().enumerate() {
                let cell: &[u8] = cells.get(c).map_or(b"", |c| c);
                if ascii_upper && cell.iter().any(u8::is_ascii_lowercase) {
                    upper.clear();
                    upper.extend(cell.iter().map(u8::to_ascii_uppercase));
                    b.push(&upper, None);
                } else {
                    b.push(cell, None);
                }
            }
            self.rows += 1;
            self.origins.push(RowOrigin {
                file: self.file,
                line: line_no,
            });
        }
    }

    fn finish(self) -> (Frame, Vec<Ragged>) {
        let frame = Frame {
            names: self.names.unwrap_or_default(),
            cols: self.builders.into_iter().map(|b| b.col).collect(),
            rows: self.rows,
            origins: Some(self.origins),
        };
        (frame, self.ragged)
    }
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
        let (f, ragged) = read_inline(text, &TextFormat::new(), false, 0, 10);
        assert_eq!(f.names, ["A", "B", "C"]);
        assert_eq!(shown(&f), [["x", "y, z", ""], ["1", "2", "3"]]);
        assert_eq!(ragged.len(), 2);
        assert_eq!(ragged.first().map(|r| r.line), Some(12));
        assert_eq!(
            f.origins.as_ref().and_then(|o| o.get(1)).map(|o| o.line),
            Some(14)
        );
        let (u, _) = read_inline("a,b\nus,x\n", &TextFormat::new(), true, 0, 1);
        assert_eq!(u.names, ["A", "B"]);
        assert_eq!(shown(&u), [["US", "X"]]);
        // Not ASCII: upper-cased character by character.
        let (u, _) = read_inline("a\nsé\n", &TextFormat::new(), true, 0, 1);
        assert_eq!(shown(&u), [["SÉ"]]);
    }

    #[test]
    fn ascii_cells_upper_cased_as_read_are_the_text_upper_cased_first() {
        let commented = |c: &[u8]| TextFormat {
            comment: Some(c.to_vec()),
            ..TextFormat::new()
        };
        let text = "access, userId, 'Grp'\nuser, ann, 'a, \"b\"'\nrem x, y\nREM z\nadmin, Bo\nuser,x,y,zz\n";
        for fmt in [TextFormat::new(), commented(b"REM"), commented(b"rem")] {
            let as_read = read_inline(text, &fmt, true, 0, 1);
            let first = read_inline(&text.to_ascii_uppercase(), &fmt, false, 0, 1);
            assert_eq!(
                everything(&as_read),
                everything(&first),
                "{:?}",
                fmt.comment
            );
        }
        let (f, _) = read_inline(text, &commented(b"REM"), true, 0, 1);
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
    fn halves_read_what_one_pass_reads() {
        let mut body = String::new();
        for i in 0..300 {
            body.push_str(&format!("user, U{i}, g{}, 'c, {}'\n", i % 7, i % 13));
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
        for (text, fmt) in &cases {
            for upper in [false, true] {
                let one = read_inline_split(text, fmt, (upper, 0, 5), usize::MAX);
                let two = read_inline_split(text, fmt, (upper, 0, 5), 0);
                assert_eq!(everything(&one), everything(&two), "{text:?}");
            }
        }
    }

    #[test]
    fn empty_cells_are_empty_strings_and_numbers_are_duals() {
        let (f, _) = read_inline("A,B\n,01\n", &TextFormat::new(), false, 0, 1);
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
        let (f, _) = read_inline("a;b\nc;d", &fmt, false, 0, 1);
        assert_eq!(f.names, ["@1", "@2"]);
        assert_eq!(f.rows, 2);
    }
}
