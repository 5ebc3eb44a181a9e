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
    let text: Cow<'_, str> = if upper {
        Cow::Owned(text.to_uppercase())
    } else {
        Cow::Borrowed(text)
    };
    let mut ragged = Vec::new();
    let mut names: Option<Vec<String>> = None;
    let mut builders: Vec<ColumnBuilder> = Vec::new();
    let mut origins = Vec::new();
    let mut rows = 0usize;
    let mut cells: Vec<Cow<'_, [u8]>> = Vec::new();
    let mut offset = 0usize;
    let mut skipped_header = 0usize;
    for (i, raw) in text.split('\n').enumerate() {
        let line_offset = offset;
        offset += raw.len() + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line_no = first_line.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
        if line.trim().is_empty() {
            continue;
        }
        if skipped_header < fmt.header_lines {
            skipped_header += 1;
            continue;
        }
        if fmt
            .comment
            .as_deref()
            .is_some_and(|c| line.as_bytes().starts_with(c))
        {
            continue;
        }
        split_line(line.as_bytes(), &fmt.delimiter, fmt.quoting, &mut cells);
        let width = match &names {
            Some(n) => n.len(),
            None => {
                let n = match fmt.labels {
                    Labels::Embedded => {
                        let labels = cells
                            .iter()
                            .map(|c| String::from_utf8_lossy(c).into_owned())
                            .collect();
                        names = Some(labels);
                        builders = (0..cells.len()).map(|_| ColumnBuilder::new()).collect();
                        continue;
                    }
                    Labels::None => at_names(cells.len()),
                };
                builders = (0..n.len()).map(|_| ColumnBuilder::new()).collect();
                let w = n.len();
                names = Some(n);
                w
            }
        };
        if cells.len() != width {
            ragged.push(Ragged {
                offset: line_offset,
                len: line.len(),
                line: line_no,
                expected: width,
                got: cells.len(),
            });
        }
        for (c, b) in builders.iter_mut().enumerate() {
            let cell: &[u8] = cells.get(c).map_or(b"", |c| c);
            b.push(cell, None);
        }
        rows += 1;
        origins.push(RowOrigin {
            file,
            line: line_no,
        });
    }
    let frame = Frame {
        names: names.unwrap_or_default(),
        cols: builders.into_iter().map(|b| b.col).collect(),
        rows,
        origins: Some(origins),
    };
    (frame, ragged)
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
