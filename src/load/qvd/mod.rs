//! QVD files, Qlik's own table format (`LOAD … FROM file.qvd (qvd)`), read
//! straight into a [`Frame`]; and their headers alone, for the script
//! functions `QvdNoOfRecords` and the like.
//!
//! A QVD holds one table: an XML header ([`header`]), ended by a NUL byte,
//! then a symbol table per field and the bit-packed rows ([`body`]). Only
//! the fields a load needs are decoded. A file that is damaged or cut
//! short is an error saying what is wrong, never a partial table.

mod body;
mod header;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;

pub(crate) use header::Header;

use crate::load::frame::Frame;
use crate::model::Symbols;

/// A QVD file's table as read.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The fields asked for, in the file's order.
    pub(crate) frame: Frame,
    /// Fields whose number format (named) shows their pure numbers as
    /// dates, times or amounts in Qlik, while this tool keeps the numbers.
    pub(crate) formatted: Vec<(String, String)>,
}

/// Why a QVD file could not be read.
#[derive(Debug)]
pub(crate) enum QvdError {
    /// The file cannot be opened or read.
    Io(std::io::Error),
    /// The file is not a QVD this reader (or Qlik) can read: what is wrong,
    /// lower case.
    Bad(String),
}

/// Bytes read at a position of a file, or of a file's bytes in memory:
/// the symbol tables of several fields are read side by side, each a
/// window at a time from its own place, so that no table is held whole.
pub(crate) trait ReadAt: Sync {
    /// Fills `buf` with the bytes from `at`; an error when they are not
    /// all there.
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()>;
}

impl ReadAt for File {
    #[cfg(unix)]
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, at)
    }

    #[cfg(windows)]
    fn read_exact_at(&self, mut buf: &mut [u8], mut at: u64) -> std::io::Result<()> {
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_read(self, buf, at) {
                Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    at += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl ReadAt for [u8] {
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()> {
        let from = usize::try_from(at).map_err(|_| std::io::ErrorKind::UnexpectedEof)?;
        let bytes = from
            .checked_add(buf.len())
            .and_then(|to| self.get(from..to))
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

/// Bytes of the header read at a time while looking for its end.
const HEADER_BLOCK: usize = 1 << 16;

/// Reads the header of the `len` bytes of `src`; returns the header and
/// where the body starts.
fn header_of<S: ReadAt + ?Sized>(src: &S, len: u64) -> Result<(Header, u64), QvdError> {
    let mut bytes: Vec<u8> = Vec::new();
    let end = loop {
        let at = bytes.len() as u64;
        let left = len.saturating_sub(at);
        if left == 0 {
            return Err(QvdError::Bad(String::from(
                "the file has no end of header (the NUL byte after `</QvdTableHeader>`): it is no QVD file, or it is cut short",
            )));
        }
        let block = usize::try_from(left).map_or(HEADER_BLOCK, |l| l.min(HEADER_BLOCK));
        let start = bytes.len();
        bytes.resize(start + block, 0);
        // INVARIANT: `bytes` was just made `block` bytes longer than `start`.
        #[expect(clippy::indexing_slicing, reason = "INVARIANT: see above")]
        let fresh = &mut bytes[start..];
        src.read_exact_at(fresh, at).map_err(QvdError::Io)?;
        if let Some(nul) = memchr::memchr(0, fresh) {
            break start + nul;
        }
    };
    bytes.truncate(end);
    let header = header::parse(&bytes).map_err(QvdError::Bad)?;
    Ok((header, end as u64 + 1))
}

/// The header of the QVD file at `path` (the rest is not read).
pub(crate) fn read_header(path: &Path) -> Result<Header, QvdError> {
    let file = File::open(path).map_err(QvdError::Io)?;
    let len = file.metadata().map_err(QvdError::Io)?.len();
    Ok(header_of(&file, len)?.0)
}

/// Which fields a read decodes (`None`: every field), and the symbols each
/// starts from by name (the model's, so ids need no mapping later).
pub(crate) type Fields<'a> = (Option<&'a HashSet<String>>, &'a HashMap<String, Symbols>);

/// The table of the QVD file at `path`, with the fields `fields` names,
/// in the file's order.
pub(crate) fn read(path: &Path, fields: Fields<'_>) -> Result<Loaded, QvdError> {
    let file = File::open(path).map_err(QvdError::Io)?;
    let len = file.metadata().map_err(QvdError::Io)?.len();
    read_from(&file, len, fields)
}

/// The table of a QVD file of `len` bytes read from `src`.
pub(crate) fn read_from<S: ReadAt + ?Sized>(
    src: &S,
    len: u64,
    fields: Fields<'_>,
) -> Result<Loaded, QvdError> {
    let (header, body_start) = header_of(src, len)?;
    body::read(src, len, body_start, &header, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;
    use std::sync::Arc;

    /// A field of a hand-built QVD: its bits and its symbol table.
    struct F {
        name: &'static str,
        bit_offset: u64,
        bit_width: u64,
        bias: i64,
        symbols: Vec<Vec<u8>>,
    }

    fn int(i: i32) -> Vec<u8> {
        [&[1][..], &i.to_le_bytes()].concat()
    }
    fn double(d: f64) -> Vec<u8> {
        [&[2][..], &d.to_le_bytes()].concat()
    }
    fn text(t: &str) -> Vec<u8> {
        [&[4][..], t.as_bytes(), &[0]].concat()
    }
    fn dual_int(i: i32, t: &str) -> Vec<u8> {
        [&[5][..], &i.to_le_bytes(), t.as_bytes(), &[0]].concat()
    }
    fn dual_double(d: f64, t: &str) -> Vec<u8> {
        [&[6][..], &d.to_le_bytes(), t.as_bytes(), &[0]].concat()
    }

    /// Bytes of a QVD with `fields` and `rows` (each row the stored bits of
    /// each field, in `fields` order), `size` bytes a record.
    fn build(fields: &[F], size: usize, rows: &[Vec<u64>]) -> Vec<u8> {
        let mut records = Vec::new();
        for row in rows {
            let mut record = vec![0u8; size];
            for (f, &stored) in fields.iter().zip(row) {
                for bit in 0..f.bit_width {
                    if stored >> bit & 1 == 1 {
                        let at = (f.bit_offset + bit) as usize;
                        record[at / 8] |= 1 << (at % 8);
                    }
                }
            }
            records.extend(record);
        }
        build_records(fields, size, &records)
    }

    /// Bytes of a QVD with `fields` and the records `records`, `size`
    /// bytes each.
    fn build_records(fields: &[F], size: usize, records: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut headers = String::new();
        for f in fields {
            let table: Vec<u8> = f.symbols.concat();
            headers.push_str(&format!(
                "<QvdFieldHeader><FieldName>{}</FieldName><BitOffset>{}</BitOffset>\
                 <BitWidth>{}</BitWidth><Bias>{}</Bias><NumberFormat><Type>UNKNOWN</Type></NumberFormat>\
                 <NoOfSymbols>{}</NoOfSymbols><Offset>{}</Offset><Length>{}</Length>\
                 <Tags></Tags></QvdFieldHeader>",
                f.name,
                f.bit_offset,
                f.bit_width,
                f.bias,
                f.symbols.len(),
                body.len(),
                table.len()
            ));
            body.extend(table);
        }
        let offset = body.len();
        body.extend(records);
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
             <QvdTableHeader><TableName>T</TableName><Fields>{headers}</Fields>\
             <RecordByteSize>{size}</RecordByteSize><NoOfRecords>{}</NoOfRecords>\
             <Offset>{offset}</Offset><Length>{}</Length></QvdTableHeader>\r\n\0",
            records.len() / size,
            records.len()
        );
        [xml.as_bytes(), &body].concat()
    }

    fn load(bytes: &[u8], needed: Option<&[&str]>) -> Result<Frame, QvdError> {
        let needed: Option<HashSet<String>> =
            needed.map(|n| n.iter().map(|s| s.to_string()).collect());
        read_from(
            bytes,
            bytes.len() as u64,
            (needed.as_ref(), &HashMap::new()),
        )
        .map(|l| l.frame)
    }

    /// Each column as texts (NULL as `-`), with `#` after a number.
    fn shown(frame: &Frame) -> Vec<String> {
        frame
            .cols
            .iter()
            .map(|c| {
                (0..frame.rows)
                    .map(|r| match c.value(r) {
                        Value::Null => String::from("-"),
                        Value::Num(n) => format!("{n}#"),
                        Value::Dual(n, t) => format!("{t}({n})"),
                        Value::Text(t) => format!("'{t}'"),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    fn bad(r: Result<Frame, QvdError>) -> String {
        match r {
            Err(QvdError::Bad(why)) => why,
            Err(QvdError::Io(e)) => panic!("i/o error {e}"),
            Ok(f) => panic!("read {:?}", shown(&f)),
        }
    }

    fn f(name: &'static str, bit_offset: u64, bit_width: u64, symbols: Vec<Vec<u8>>) -> F {
        F {
            name,
            bit_offset,
            bit_width,
            bias: 0,
            symbols,
        }
    }

    #[test]
    fn rows_decode_in_parts_and_the_first_damaged_row_is_the_error() {
        // One-byte records, many parts of rows: each row holds its value
        // mod 200 (of 200 symbols); then rows past the symbols, the first
        // of which the error names whatever part decodes first.
        let n = 9_000_000;
        let records: Vec<u8> = (0..n).map(|r| (r % 200) as u8).collect();
        let symbols: Vec<Vec<u8>> = (0..200).map(int).collect();
        let bytes = build_records(&[f("V", 0, 8, symbols.clone())], 1, &records);
        let frame = load(&bytes, None).unwrap();
        assert_eq!(frame.rows, n);
        for r in [0, 1, 4_194_303, 4_194_304, 4_194_305, n - 1] {
            assert!(
                frame.cols[0]
                    .value(r)
                    .same_as(&Value::Num((r % 200) as f64)),
                "row {r}"
            );
        }
        let mut damaged = records;
        for r in [8_999_000, 5_000_001, 7_000_000] {
            damaged[r] = 250;
        }
        let bytes = build_records(&[f("V", 0, 8, symbols)], 1, &damaged);
        let why = bad(load(&bytes, None));
        assert!(why.contains("row 5000002 holds symbol index 250"), "{why}");
    }

    #[test]
    fn symbol_tables_larger_than_a_read_window_decode_across_its_edges() {
        // Texts and duals of every length around the window's edges, one
        // text longer than the window, and ints counting up (a run) and
        // not (one out of place): each row points at its own symbol.
        let n: usize = 120_000;
        let long = "x".repeat(3 << 20);
        let texts: Vec<String> = (0..n)
            .map(|k| {
                if k == n / 2 {
                    long.clone()
                } else {
                    format!("{k}-{}", "é".repeat(k % 7))
                }
            })
            .collect();
        let mut bumped: Vec<i32> = (0..n as i32).collect();
        bumped[n - 1] = -1;
        let fields = [
            f("T", 0, 17, texts.iter().map(|t| text(t)).collect()),
            f(
                "D",
                17,
                17,
                (0..n)
                    .map(|k| dual_int(k as i32, &format!("#{k}")))
                    .collect(),
            ),
            f("R", 34, 17, (0..n as i32).map(int).collect()),
            f("B", 51, 17, bumped.iter().map(|&i| int(i)).collect()),
        ];
        let rows: Vec<Vec<u64>> = (0..n as u64).map(|k| vec![k; 4]).collect();
        let bytes = build(&fields, 9, &rows);
        let frame = load(&bytes, None).unwrap();
        assert_eq!(frame.rows, n);
        for k in [0, 1, 999, n / 2, n / 2 + 1, n - 1] {
            let value = |c: usize| frame.cols[c].value(k);
            assert!(
                value(0).same_as(&Value::Text(Arc::from(texts[k].as_str()))),
                "row {k}"
            );
            let dual = Value::Dual(k as f64, Arc::from(format!("#{k}")));
            assert!(value(1).same_as(&dual) && value(1).text() == dual.text());
            assert!(value(2).same_as(&Value::Num(k as f64)));
            assert!(value(3).same_as(&Value::Num(f64::from(bumped[k]))));
        }
        assert!(frame.cols[2].syms.is_run() && !frame.cols[3].syms.is_run());
    }

    #[test]
    fn the_five_symbol_types_decode_as_the_model_keeps_them() {
        let fields = [
            f("I", 0, 2, vec![int(-7), int(3)]),
            f("D", 2, 2, vec![double(1.5), double(-0.25)]),
            f(
                "T",
                4,
                2,
                vec![text("0033B2"), text(""), text("é"), text("12")],
            ),
            f(
                "DI",
                6,
                2,
                vec![dual_int(64, "64"), dual_int(10, "10.0"), dual_int(1, "A")],
            ),
            f(
                "DD",
                8,
                1,
                vec![
                    dual_double(2.5, "2.5"),
                    dual_double(2_345_678_910.0, "02345678910"),
                ],
            ),
        ];
        let bytes = build(
            &fields,
            2,
            &[
                vec![0, 0, 0, 0, 0],
                vec![1, 1, 1, 1, 1],
                vec![0, 1, 2, 2, 0],
                vec![1, 0, 3, 0, 1],
            ],
        );
        let frame = load(&bytes, None).unwrap();
        assert_eq!(frame.names, ["I", "D", "T", "DI", "DD"]);
        assert_eq!(frame.rows, 4);
        assert_eq!(
            shown(&frame),
            [
                "-7# 3# -7# 3#",
                "1.5# -0.25# -0.25# 1.5#",
                // Text stays text, even when it reads as a number.
                "'0033B2' '' 'é' '12'",
                // A dual shown as its number is kept as the number, as a
                // file cell `64` is; the others keep their text.
                "64# 10.0(10) A(1) 64#",
                "2.5# 02345678910(2345678910) 2.5# 02345678910(2345678910)",
            ]
        );
        // Ids are the symbols' order: one map per field, no value per row.
        assert_eq!(
            frame.cols[2]
                .ids
                .iter()
                .map(|id| id.index())
                .collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn a_negative_index_after_bias_is_null() {
        let mut field = f("N", 0, 2, vec![text("x"), text("y")]);
        field.bias = -2;
        let all_null = F {
            name: "Z",
            bit_offset: 2,
            bit_width: 2,
            bias: -2,
            symbols: vec![],
        };
        let bytes = build(
            &[field, all_null],
            1,
            &[vec![0, 0], vec![1, 1], vec![2, 0], vec![3, 0]],
        );
        let frame = load(&bytes, None).unwrap();
        assert_eq!(shown(&frame), ["- - 'x' 'y'", "- - - -"]);
        assert_eq!(frame.cols[0].ids[0], crate::model::SymbolId::NULL);
    }

    #[test]
    fn fields_in_any_bit_order_wider_than_needed_or_of_no_bits() {
        let fields = [
            f("High", 9, 7, vec![text("a"), text("b")]),
            f("Low", 0, 8, vec![int(1), int(2), int(3)]),
            // Every row holds symbol 0.
            f("Const", 0, 0, vec![text("k")]),
        ];
        let bytes = build(&fields, 2, &[vec![1, 2, 0], vec![0, 0, 0]]);
        let frame = load(&bytes, None).unwrap();
        assert_eq!(shown(&frame), ["'b' 'a'", "3# 1#", "'k' 'k'"]);
    }

    #[test]
    fn records_wider_than_eight_bytes_decode_across_64_bits() {
        let many: Vec<Vec<u8>> = (0..1000).map(int).collect();
        let fields = [
            // Straddles bit 64.
            f("Across", 60, 10, many.clone()),
            // Wholly past bit 64.
            f("Past", 70, 20, many.clone()),
            // 64 bits from bit 3: read through a 128-bit window.
            f("Wide", 90, 64, many.clone()),
            f("First", 3, 57, many),
        ];
        let rows = [vec![999, 5, 998, 1], vec![0, 999, 0, 997]];
        let bytes = build(&fields, 20, &rows);
        let frame = load(&bytes, None).unwrap();
        assert_eq!(shown(&frame), ["999# 0#", "5# 999#", "998# 0#", "1# 997#"]);
    }

    #[test]
    fn only_the_needed_fields_are_decoded() {
        let fields = [
            f("A", 0, 1, vec![int(1), int(2)]),
            // A damaged symbol table that a load of A alone never reads.
            f("B", 1, 1, vec![vec![9, 9]]),
        ];
        let bytes = build(&fields, 1, &[vec![1, 0]]);
        let frame = load(&bytes, Some(&["A", "Other"])).unwrap();
        assert_eq!(frame.names, ["A"]);
        assert_eq!(shown(&frame), ["2#"]);
        assert!(bad(load(&bytes, None)).contains("type byte 0x09"));
    }

    #[test]
    fn a_file_without_rows_is_its_fields() {
        let fields = [f("Country", 0, 8, vec![]), f("Year", 8, 8, vec![])];
        let bytes = build(&fields, 1, &[]);
        let frame = load(&bytes, None).unwrap();
        assert_eq!(frame.names, ["Country", "Year"]);
        assert_eq!(frame.rows, 0);
        assert!(frame.cols.iter().all(|c| c.ids.is_empty()));
    }

    #[test]
    fn damage_is_an_error_that_says_where() {
        let fields = [f("A", 0, 2, vec![text("x"), int(5)])];
        let good = build(&fields, 1, &[vec![0], vec![1]]);
        let body = good.iter().position(|&b| b == 0).unwrap() + 1;
        assert_eq!(shown(&load(&good, None).unwrap()), ["'x' 5#"]);

        // A symbol type byte that does not exist, with its place.
        let mut kind = good.clone();
        kind[body + 3] = 3;
        let e = bad(load(&kind, None));
        assert!(
            e.contains("symbol 2")
                && e.contains(&format!("at byte {}", body + 3))
                && e.contains("0x03"),
            "{e}"
        );

        // An index past the symbols, with its row.
        let past = build(&fields, 1, &[vec![0], vec![3]]);
        let e = bad(load(&past, None));
        assert!(
            e.contains("row 2 holds symbol index 3") && e.contains("2 symbols"),
            "{e}"
        );

        // Cut short: the rows pass the end of the file.
        let e = bad(load(&good[..good.len() - 1], None));
        assert!(
            e.contains("the rows would take bytes") && e.contains("past the end of the file"),
            "{e}"
        );

        // A symbol table cut inside a symbol.
        let cut =
            String::from_utf8_lossy(&good).replace("<Length>8</Length>", "<Length>5</Length>");
        let e = bad(load(cut.as_bytes(), None));
        assert!(e.contains("ends inside symbol 2 of 2"), "{e}");

        // Bits past the record.
        let wide = String::from_utf8_lossy(&good).replace("<BitWidth>2<", "<BitWidth>9<");
        let e = bad(load(wide.as_bytes(), None));
        assert!(
            e.contains("bits 0..9 pass the end of the 1-byte records"),
            "{e}"
        );

        // Rows' length that is not records × size.
        let len = String::from_utf8_lossy(&good).replace(
            "<Length>2</Length></QvdTableHeader>",
            "<Length>3</Length></QvdTableHeader>",
        );
        let e = bad(load(len.as_bytes(), None));
        assert!(e.contains("`<Length>` 3 is not"), "{e}");

        // No end of header, and a header that is not XML.
        let e = bad(load(&good[..body - 1], None));
        assert!(e.contains("no end of header"), "{e}");
        let e = bad(load(b"<QvdTableHeader><a></b></QvdTableHeader>\0", None));
        assert!(e.starts_with("the header is not valid XML"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

        /// Damage anywhere (bytes changed, the file cut) is an error or a
        /// table whose every id is a symbol of its column, never a panic.
        #[test]
        fn damaged_bytes_never_panic(
            changes in proptest::collection::vec(
                (proptest::prelude::any::<bool>(), 0usize..4096, proptest::prelude::any::<u8>()),
                0..6,
            ),
            cut in proptest::option::of(0usize..4096),
        ) {
            let fields = [
                f("A", 0, 3, vec![int(1), double(2.5), text("x"), dual_int(7, "007"), dual_double(0.5, ".5")]),
                f("B", 3, 13, vec![text("é"); 1]),
                f("C", 16, 0, vec![text("k")]),
            ];
            let mut bytes = build(&fields, 3, &[vec![0, 0, 0], vec![4, 0, 0], vec![2, 0, 0]]);
            // Half the changes in the binary part, after the header.
            let body = bytes.iter().position(|&b| b == 0).unwrap_or(0);
            for (in_body, at, b) in changes {
                let (from, len) = if in_body { (body, bytes.len() - body) } else { (0, bytes.len()) };
                bytes[from + at % len] = b;
            }
            if let Some(c) = cut {
                bytes.truncate(c % (bytes.len() + 1));
            }
            if let Ok(frame) = load(&bytes, None) {
                for c in &frame.cols {
                    proptest::prop_assert_eq!(c.ids.len(), frame.rows);
                    for &id in &c.ids {
                        proptest::prop_assert!(id.is_null() || id.index() < c.syms.len());
                    }
                }
            }
        }
    }
}
