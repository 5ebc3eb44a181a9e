//! What `STORE` writes: a table as a QVD file, Qlik's own layout, or as a
//! delimited text file.
//!
//! A QVD is an XML header (ended by `\r\n` and a NUL byte), then each
//! field's symbol table, then one bit-packed record per row (see
//! `notes/sources.md` §1.2 of the project's reference material and the QVD
//! reader beside this module). What is written here follows the files
//! Qlik writes: the same header elements in the same order and
//! indentation, the five symbol types (int, double, text, dual int, dual
//! double) chosen from each value, symbols in order of first use in the
//! table, NULL through a bias of -2, each field as narrow as its symbols
//! allow, and a lineage naming where the table's rows came from.

use rayon::iter::{IndexedParallelIterator, ParallelIterator};
use rayon::slice::ParallelSliceMut;

use crate::bug::Bug;
use crate::model::{SymbolId, Symbols, Value};

/// One column to store: its name, one symbol id per row ([`SymbolId::NULL`] for a
/// missing value) and the symbols those ids are of.
pub(crate) struct StoreColumn<'a> {
    pub(crate) name: &'a str,
    pub(crate) ids: &'a [SymbolId],
    pub(crate) symbols: &'a Symbols,
}

/// A table to store, with what the QVD header says of it.
pub(crate) struct StoreTable<'a> {
    pub(crate) name: &'a str,
    pub(crate) columns: Vec<StoreColumn<'a>>,
    pub(crate) rows: usize,
    /// Where the rows came from, one discriminator each (a file's path,
    /// `INLINE`, `RESIDENT T` …), as the header's lineage lists them.
    pub(crate) lineage: Vec<String>,
    /// `CreateUtcTime`: `YYYY-MM-DD hh:mm:ss`.
    pub(crate) created: String,
}

/// Integers a QVD stores in four bytes: the int and dual int types.
fn as_i32(n: f64) -> Option<i32> {
    let i = n as i32;
    (f64::from(i) == n && !(n == 0.0 && n.is_sign_negative())).then_some(i)
}

/// A field's symbols in a QVD: its values in order of first use in the
/// column, how each row refers to one, and what the header says.
struct Packed {
    /// Symbol table bytes.
    symbols: Vec<u8>,
    count: usize,
    /// Per row, the value the record stores (symbol + bias's opposite).
    stored: Vec<u32>,
    width: u32,
    bias: i32,
    tags: Vec<&'static str>,
    /// Some text held a NUL and was cut there.
    cut: bool,
}

/// Bits needed to write `n`.
fn bits(n: u64) -> u32 {
    u64::BITS - n.leading_zeros()
}

/// Appends one symbol: its type byte and payload; true when its text
/// held a NUL and was cut there.
fn push_symbol(out: &mut Vec<u8>, value: &Value) -> Result<bool, Bug> {
    match value {
        Value::Num(n) => match as_i32(*n) {
            Some(i) => {
                out.push(0x01);
                out.extend_from_slice(&i.to_le_bytes());
            }
            None => {
                out.push(0x02);
                out.extend_from_slice(&n.to_le_bytes());
            }
        },
        Value::Text(t) => {
            out.push(0x04);
            return push_text(out, t);
        }
        Value::Dual(n, t) => {
            match as_i32(*n) {
                Some(i) => {
                    out.push(0x05);
                    out.extend_from_slice(&i.to_le_bytes());
                }
                None => {
                    out.push(0x06);
                    out.extend_from_slice(&n.to_le_bytes());
                }
            }
            return push_text(out, t);
        }
        Value::Null => return Err(Bug::new("a NULL was stored as a symbol")),
    }
    Ok(false)
}

/// Appends NUL-terminated text. A text holding NUL cannot be stored (the
/// format ends texts with it): cut there, as a reader would read it, and
/// true returned.
fn push_text(out: &mut Vec<u8>, text: &str) -> Result<bool, Bug> {
    let bytes = text.as_bytes();
    let end = memchr::memchr(0, bytes).unwrap_or(bytes.len());
    out.extend_from_slice(
        bytes
            .get(..end)
            .ok_or_else(|| Bug::new("text cut past its end"))?,
    );
    out.push(0);
    Ok(end < bytes.len())
}

impl Packed {
    fn of(column: &StoreColumn<'_>) -> Result<Self, Bug> {
        // Symbols in order of first use: `local[id]` is the id's number
        // in the file plus one (0: not met yet).
        let mut local: Vec<u32> = vec![0; column.symbols.len()];
        let mut order: Vec<SymbolId> = Vec::new();
        // Per row, the symbol's number plus one (0 for NULL) for now.
        let mut stored: Vec<u32> = Vec::with_capacity(column.ids.len());
        for &id in column.ids {
            if id.is_null() {
                stored.push(0);
                continue;
            }
            let slot = local.get_mut(id.index()).ok_or_else(|| {
                Bug::new(format!(
                    "symbol {} past field `{}`",
                    id.index(),
                    column.name
                ))
            })?;
            if *slot == 0 {
                order.push(id);
                *slot = u32::try_from(order.len())
                    .map_err(|_| Bug::new("more symbols than ids in one field"))?;
            }
            stored.push(*slot);
        }
        let count = order.len();
        let has_null = stored.contains(&0);
        // With NULLs the bias is -2: a record holds the number plus two,
        // and 0 for NULL. Qlik writes such a field at least two bits wide,
        // even when every row is NULL.
        let (bias, width) = if has_null {
            for s in stored.iter_mut().filter(|s| **s != 0) {
                *s += 1;
            }
            (-2, bits(count as u64 + 1).max(2))
        } else {
            for s in &mut stored {
                *s -= 1;
            }
            (0, bits((count as u64).saturating_sub(1)))
        };
        let mut symbols = Vec::new();
        let mut cut = false;
        let (mut numeric, mut integer, mut text, mut ascii) = (true, true, true, true);
        for &id in &order {
            let value = column.symbols.get(id).ok_or_else(|| {
                Bug::new(format!(
                    "symbol {} of field `{}` has no value",
                    id.index(),
                    column.name
                ))
            })?;
            match &value {
                Value::Num(n) => {
                    text = false;
                    integer &= as_i32(*n).is_some();
                }
                Value::Text(t) => {
                    numeric = false;
                    ascii &= t.is_ascii();
                }
                Value::Dual(..) | Value::Null => {
                    (numeric, text) = (false, false);
                }
            }
            cut |= push_symbol(&mut symbols, &value)?;
        }
        let tags = match (count > 0, numeric, text) {
            (true, true, _) if integer => vec!["$numeric", "$integer"],
            (true, true, _) => vec!["$numeric"],
            (true, _, true) if ascii => vec!["$ascii", "$text"],
            (true, _, true) => vec!["$text"],
            _ => Vec::new(),
        };
        Ok(Self {
            symbols,
            count,
            stored,
            width,
            bias,
            tags,
            cut,
        })
    }
}

/// XML text with `&`, `<`, `>` escaped (the header's element texts).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Rows packed per piece of work.
const PIECE_ROWS: usize = 1 << 16;

/// A QVD file as written.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) bytes: Vec<u8>,
    /// The fields with a text that held a NUL, cut there (the format ends
    /// texts with NUL, so Qlik's reader would cut it there too).
    pub(crate) cut_at_nul: Vec<String>,
}

/// The QVD file of `table`.
pub(crate) fn qvd(table: &StoreTable<'_>) -> Result<Written, Bug> {
    let packed: Vec<Packed> = table
        .columns
        .iter()
        .map(Packed::of)
        .collect::<Result<_, _>>()?;
    for (p, c) in packed.iter().zip(&table.columns) {
        if p.stored.len() != table.rows {
            return Err(Bug::new(format!(
                "column `{}` has {} rows in a table of {}",
                c.name,
                p.stored.len(),
                table.rows
            )));
        }
    }
    let total_bits: u64 = packed.iter().map(|p| u64::from(p.width)).sum();
    // A record is at least one byte, as in Qlik's files (even with no
    // field wider than 0 bits).
    let record = usize::try_from(total_bits.div_ceil(8))
        .map_err(|_| Bug::new("a record wider than memory"))?
        .max(1);
    let mut header =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n");
    let mut line = |depth: usize, text: &str| {
        header.push_str(&" ".repeat(1 + 2 * depth));
        header.push_str(text);
        header.push_str("\r\n");
    };
    let el = |name: &str, value: &str| format!("<{name}>{}</{name}>", escape(value));
    line(0, "<QvdTableHeader>");
    line(1, &el("QvBuildNo", "50689"));
    line(1, &el("CreatorDoc", "section-access"));
    line(1, &el("CreateUtcTime", &table.created));
    line(1, &el("SourceCreateUtcTime", ""));
    line(1, &el("SourceFileUtcTime", ""));
    line(1, &el("SourceFileSize", "-1"));
    line(1, &el("StaleUtcTime", ""));
    line(1, &el("TableName", table.name));
    line(1, "<Fields>");
    let (mut offset, mut bit) = (0usize, 0u32);
    for (p, c) in packed.iter().zip(&table.columns) {
        line(2, "<QvdFieldHeader>");
        line(3, &el("FieldName", c.name));
        line(3, &el("BitOffset", &bit.to_string()));
        line(3, &el("BitWidth", &p.width.to_string()));
        line(3, &el("Bias", &p.bias.to_string()));
        line(3, "<NumberFormat>");
        line(4, &el("Type", "UNKNOWN"));
        line(4, &el("nDec", "0"));
        line(4, &el("UseThou", "0"));
        line(4, &el("Fmt", ""));
        line(4, &el("Dec", ""));
        line(4, &el("Thou", ""));
        line(3, "</NumberFormat>");
        line(3, &el("NoOfSymbols", &p.count.to_string()));
        line(3, &el("Offset", &offset.to_string()));
        line(3, &el("Length", &p.symbols.len().to_string()));
        line(3, &el("Comment", ""));
        if p.tags.is_empty() {
            line(3, "<Tags></Tags>");
        } else {
            line(3, "<Tags>");
            for t in &p.tags {
                line(4, &el("String", t));
            }
            line(3, "</Tags>");
        }
        line(2, "</QvdFieldHeader>");
        offset += p.symbols.len();
        bit += p.width;
    }
    line(1, "</Fields>");
    line(1, &el("Compression", ""));
    line(1, &el("RecordByteSize", &record.to_string()));
    line(1, &el("NoOfRecords", &table.rows.to_string()));
    line(1, &el("Offset", &offset.to_string()));
    let index_len = table
        .rows
        .checked_mul(record)
        .ok_or_else(|| Bug::new("an index table wider than memory"))?;
    line(1, &el("Length", &index_len.to_string()));
    line(1, "<Lineage>");
    for d in &table.lineage {
        line(2, "<LineageInfo>");
        line(3, &el("Discriminator", d));
        line(3, &el("Statement", ""));
        line(2, "</LineageInfo>");
    }
    line(1, "</Lineage>");
    line(1, &el("Comment", ""));
    line(1, &el("EncryptionInfo", ""));
    line(1, &el("TableTags", ""));
    line(1, &el("ProfilingData", ""));
    line(0, "</QvdTableHeader>");
    let mut out = Vec::with_capacity(header.len() + 1 + offset + index_len);
    out.extend_from_slice(header.as_bytes());
    out.push(0);
    for p in &packed {
        out.extend_from_slice(&p.symbols);
    }
    let start = out.len();
    out.resize(start + index_len, 0);
    let index = out
        .get_mut(start..)
        .ok_or_else(|| Bug::new("index table past the file"))?;
    let fields: Vec<(&[u32], u32, u32)> = {
        let mut at = 0;
        packed
            .iter()
            .map(|p| {
                let f = (p.stored.as_slice(), at, p.width);
                at += p.width;
                f
            })
            .collect()
    };
    index
        .par_chunks_mut(record * PIECE_ROWS)
        .enumerate()
        .for_each(|(piece, bytes)| {
            let first = piece * PIECE_ROWS;
            for (r, rec) in bytes.chunks_exact_mut(record).enumerate() {
                for &(stored, offset, width) in &fields {
                    if let Some(&v) = stored.get(first + r) {
                        put_bits(rec, offset, width, v);
                    }
                }
            }
        });
    let cut_at_nul = packed
        .iter()
        .zip(&table.columns)
        .filter(|(p, _)| p.cut)
        .map(|(_, c)| c.name.to_string())
        .collect();
    Ok(Written {
        bytes: out,
        cut_at_nul,
    })
}

/// Writes the low `width` bits of `value` at bit `offset` of `record`
/// (little-endian, as a QVD record is read: one integer of its bytes).
fn put_bits(record: &mut [u8], offset: u32, width: u32, value: u32) {
    let (mut v, mut bit, mut left) = (u64::from(value), offset as usize, width as usize);
    while left > 0 {
        let shift = bit % 8;
        let take = (8 - shift).min(left);
        if let Some(byte) = record.get_mut(bit / 8) {
            *byte |= ((v & ((1 << take) - 1)) << shift) as u8;
        }
        v >>= take;
        bit += take;
        left -= take;
    }
}

/// The text file of `table`: UTF-8 with a byte order mark, the field
/// names on the first line, `delimiter` between cells, a cell quoted with
/// `"` when it holds the delimiter, a quote or a line break (quotes
/// doubled), NULL as an empty cell, each value as its text.
pub(crate) fn txt(table: &StoreTable<'_>, delimiter: &str) -> Result<Vec<u8>, Bug> {
    let mut out = String::from("\u{feff}");
    let cell = |out: &mut String, text: &str| {
        if text.contains(delimiter) || text.contains(['"', '\n', '\r']) {
            out.push('"');
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(text);
        }
    };
    for (i, c) in table.columns.iter().enumerate() {
        if i > 0 {
            out.push_str(delimiter);
        }
        cell(&mut out, c.name);
    }
    out.push_str("\r\n");
    for r in 0..table.rows {
        for (i, c) in table.columns.iter().enumerate() {
            if i > 0 {
                out.push_str(delimiter);
            }
            let id = c
                .ids
                .get(r)
                .copied()
                .ok_or_else(|| Bug::new(format!("column `{}` ends before row {r}", c.name)))?;
            if !id.is_null() {
                let text = c.symbols.text(id).ok_or_else(|| {
                    Bug::new(format!(
                        "symbol {} of field `{}` has no text",
                        id.index(),
                        c.name
                    ))
                })?;
                cell(&mut out, &text);
            }
        }
        out.push_str("\r\n");
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(values: &[Value]) -> (Symbols, Vec<SymbolId>) {
        let mut s = Symbols::default();
        let ids = values
            .iter()
            .map(|v| {
                if v.is_null() {
                    SymbolId::NULL
                } else {
                    s.intern(v.clone())
                }
            })
            .collect();
        (s, ids)
    }

    #[test]
    fn bits_are_packed_little_endian_across_bytes() {
        let mut rec = [0u8; 3];
        put_bits(&mut rec, 0, 3, 0b101);
        put_bits(&mut rec, 3, 10, 0b11_0000_0001);
        assert_eq!(rec, [0b0000_1101, 0b0001_1000, 0]);
        let mut wide = [0u8; 9];
        put_bits(&mut wide, 60, 12, 0xABC);
        assert_eq!(
            u128::from_le_bytes({
                let mut b = [0u8; 16];
                b[..9].copy_from_slice(&wide);
                b
            }) >> 60,
            0xABC
        );
    }

    #[test]
    fn symbols_take_the_type_their_value_needs() {
        let values = [
            Value::Num(7.0),
            Value::Num(2.5),
            Value::Text("é".into()),
            Value::Dual(10.0, "10.0".into()),
            Value::Dual(1e10, "1e10".into()),
            Value::Null,
            Value::Num(7.0),
        ];
        let (s, ids) = symbols(&values);
        let p = Packed::of(&StoreColumn {
            name: "F",
            ids: &ids,
            symbols: &s,
        })
        .unwrap();
        assert_eq!(p.count, 5);
        assert_eq!((p.bias, p.width), (-2, 3));
        assert_eq!(p.stored, vec![2, 3, 4, 5, 6, 0, 2]);
        let mut want = vec![0x01];
        want.extend_from_slice(&7i32.to_le_bytes());
        want.push(0x02);
        want.extend_from_slice(&2.5f64.to_le_bytes());
        want.extend_from_slice(&[0x04, 0xC3, 0xA9, 0]);
        want.push(0x05);
        want.extend_from_slice(&10i32.to_le_bytes());
        want.extend_from_slice(b"10.0\0");
        want.push(0x06);
        want.extend_from_slice(&1e10f64.to_le_bytes());
        want.extend_from_slice(b"1e10\0");
        assert_eq!(p.symbols, want);
        assert!(p.tags.is_empty());
    }

    #[test]
    fn widths_are_as_narrow_as_the_symbols_allow() {
        let width = |values: &[Value]| {
            let (s, ids) = symbols(values);
            let p = Packed::of(&StoreColumn {
                name: "F",
                ids: &ids,
                symbols: &s,
            })
            .unwrap();
            (p.width, p.bias, p.tags)
        };
        let n = |x: f64| Value::Num(x);
        assert_eq!(
            width(&[n(1.0), n(1.0)]),
            (0, 0, vec!["$numeric", "$integer"])
        );
        assert_eq!(
            width(&[n(1.0), n(2.0)]),
            (1, 0, vec!["$numeric", "$integer"])
        );
        assert_eq!(
            width(&[n(1.0), n(2.0), n(3.0)]),
            (2, 0, vec!["$numeric", "$integer"])
        );
        assert_eq!(width(&[Value::Null, Value::Null]), (2, -2, vec![]));
        assert_eq!(width(&[n(0.5), Value::Null]), (2, -2, vec!["$numeric"]));
        assert_eq!(
            width(&[Value::text_only("a"), Value::text_only("b")]),
            (1, 0, vec!["$ascii", "$text"])
        );
    }

    #[test]
    fn a_qvd_has_its_header_symbols_and_records_where_the_header_says() {
        let (s1, ids1) = symbols(&[Value::Num(1.0), Value::Num(2.0), Value::Num(1.0)]);
        let (s2, ids2) = symbols(&[Value::text_only("a<b"), Value::Null, Value::text_only("c")]);
        let table = StoreTable {
            name: "T&U",
            columns: vec![
                StoreColumn {
                    name: "N",
                    ids: &ids1,
                    symbols: &s1,
                },
                StoreColumn {
                    name: "S",
                    ids: &ids2,
                    symbols: &s2,
                },
            ],
            rows: 3,
            lineage: vec![String::from("INLINE;")],
            created: String::from("2026-12-03 10:00:00"),
        };
        let bytes = qvd(&table).unwrap().bytes;
        let nul = bytes.iter().position(|&b| b == 0).unwrap();
        let header = std::str::from_utf8(&bytes[..nul]).unwrap();
        assert!(header.ends_with("</QvdTableHeader>\r\n"), "{header}");
        assert!(header.contains("   <TableName>T&amp;U</TableName>\r\n"));
        assert!(header.contains("<RecordByteSize>1</RecordByteSize>"));
        assert!(header.contains("<Discriminator>INLINE;</Discriminator>"));
        let body = &bytes[nul + 1..];
        // N: ints 1, 2 (10 bytes); S: texts "a<b", "c" (8 bytes).
        assert_eq!(body.len(), 10 + 8 + 3);
        // N at bit 0 (width 1), S at bit 1 (width 2, bias -2: 0 is NULL).
        assert_eq!(&body[18..], &[0b100, 0b001, 0b110]);
    }

    /// A cell as Qlik shows and computes with it: text and number (bits),
    /// `None` for NULL.
    type Cell = Option<(String, Option<u64>)>;

    /// The table back through our QVD reader, column by column.
    fn round_trip(values: &[Vec<Value>]) -> Vec<Vec<Cell>> {
        let rows = values.first().map_or(0, Vec::len);
        let built: Vec<(Symbols, Vec<SymbolId>)> = values.iter().map(|c| symbols(c)).collect();
        let names: Vec<String> = (0..values.len()).map(|i| format!("F{i}")).collect();
        let table = StoreTable {
            name: "T",
            columns: built
                .iter()
                .zip(&names)
                .map(|((s, ids), name)| StoreColumn {
                    name,
                    ids,
                    symbols: s,
                })
                .collect(),
            rows,
            lineage: Vec::new(),
            created: String::from("2026-12-03 10:00:00"),
        };
        let bytes = qvd(&table).unwrap().bytes;
        let len = bytes.len() as u64;
        let loaded = crate::load::qvd::read_from(
            bytes.as_slice(),
            len,
            (None, &std::collections::HashMap::new()),
        )
        .unwrap();
        assert_eq!(loaded.frame.names, names);
        assert_eq!(loaded.frame.rows, rows);
        loaded
            .frame
            .cols
            .iter()
            .map(|c| (0..rows).map(|r| cell(&c.value(r))).collect())
            .collect()
    }

    /// A value as a [`Cell`].
    fn cell(v: &Value) -> Cell {
        (!v.is_null()).then(|| (v.text().into_owned(), v.num().map(f64::to_bits)))
    }

    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Value::Null),
            (-1000i64..1000).prop_map(|i| Value::Num(i as f64)),
            any::<i64>().prop_map(|i| Value::Num(i as f64)),
            (-1e6f64..1e6).prop_map(|f| Value::Num((f * 100.0).round() / 100.0)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::Num),
            "[a-zA-Zé€ 0-9,;\"]{0,12}".prop_map(|t| Value::text_only(&t)),
            ((-100i32..100), "[0-9.,x]{1,6}")
                .prop_map(|(n, t)| Value::Dual(f64::from(n), t.into())),
            (
                any::<f64>().prop_filter("finite", |f| f.is_finite()),
                "[a-z]{1,4}"
            )
                .prop_map(|(n, t)| Value::Dual(n, t.into())),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// STORE then LOAD gives back the same table: every value's text
        /// and number, NULLs where they were.
        #[test]
        fn stored_tables_load_back_the_same(
            table in proptest::strategy::Strategy::prop_flat_map(
                (1usize..4, 0usize..40),
                |(cols, rows)| {
                    proptest::collection::vec(proptest::collection::vec(any_value(), rows), cols)
                },
            )
        ) {
            let back = round_trip(&table);
            // The table as the model holds it (values equal as Qlik
            // compares them share one symbol, the first one met).
            let want: Vec<Vec<_>> = table
                .iter()
                .map(|c| {
                    let (s, ids) = symbols(c);
                    ids.iter()
                        .map(|&id| cell(&s.get(id).unwrap_or(Value::Null)))
                        .collect()
                })
                .collect();
            proptest::prop_assert_eq!(back, want);
        }
    }

    #[test]
    fn a_million_symbol_field_loads_back() {
        let n = 1_000_000;
        let values: Vec<Value> = (0..n)
            .map(|i| {
                if i % 3 == 0 {
                    Value::text_only(&format!("U{i}"))
                } else {
                    Value::Num(f64::from(i) * 1.5)
                }
            })
            .collect();
        let back = round_trip(std::slice::from_ref(&values));
        assert_eq!(back[0].len(), n as usize);
        for (i, (got, v)) in back[0].iter().zip(&values).enumerate().step_by(9973) {
            assert_eq!(got, &cell(v), "row {i}");
        }
    }

    #[test]
    fn text_cells_are_quoted_when_they_must_be() {
        let (s, ids) = symbols(&[
            Value::text_only("plain"),
            Value::text_only("a,b"),
            Value::text_only("say \"hi\""),
            Value::Null,
        ]);
        let table = StoreTable {
            name: "T",
            columns: vec![StoreColumn {
                name: "F",
                ids: &ids,
                symbols: &s,
            }],
            rows: 4,
            lineage: Vec::new(),
            created: String::new(),
        };
        let text = String::from_utf8(txt(&table, ",").unwrap()).unwrap();
        assert_eq!(
            text,
            "\u{feff}F\r\nplain\r\n\"a,b\"\r\n\"say \"\"hi\"\"\"\r\n\r\n"
        );
    }
}
