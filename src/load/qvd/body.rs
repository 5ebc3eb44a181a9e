//! The binary part of a QVD file: each needed field's symbol table,
//! interned once into the field's [`Symbols`], and the bit-packed rows,
//! decoded straight into the column of ids through a map from QVD symbol
//! index to id. No value is built per row.
//!
//! Layout (all offsets from the first byte after the header's NUL, all
//! numbers little-endian):
//! - a symbol table per field: `NoOfSymbols` entries of a type byte and
//!   its payload — `1` i32, `2` f64, `4` NUL-terminated UTF-8 text, `5`
//!   i32 then text, `6` f64 then text;
//! - the rows: `NoOfRecords` records of `RecordByteSize` bytes, each read
//!   as one little-endian integer; a field's index is the `BitWidth` bits
//!   from `BitOffset` plus `Bias`, negative for NULL.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use rayon::prelude::*;

use super::header::{FieldHeader, Header};
use super::{Fields, Loaded, QvdError};
use crate::load::frame::{Frame, FrameColumn};
use crate::model::{IdList, MAX_SYMBOLS, SymbolId, Symbols, Value, format_number, parse_number};

/// Zero bytes after the last record of a chunk, so a field's window of
/// up to 16 bytes is always there to read.
const PAD: usize = 16;

/// Bytes of rows decoded at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// Reads the fields of `header` that `needed` names (all for `None`; the
/// first of two fields of one name) from `file`, whose header ends at
/// `body_start` and which is `file_len` bytes long.
pub(super) fn read<R: Read + Seek>(
    file: &mut R,
    file_len: u64,
    body_start: u64,
    header: &Header,
    (needed, seeds): Fields<'_>,
) -> Result<Loaded, QvdError> {
    let body_len = file_len.saturating_sub(body_start);
    let records = header.no_of_records;
    let record_size = header.record_byte_size;
    match records.checked_mul(record_size) {
        Some(l) if l == header.length => {}
        _ => {
            return Err(bad(format!(
                "the header's `<Length>` {} is not `<NoOfRecords>` {records} × `<RecordByteSize>` {record_size}",
                header.length
            )));
        }
    }
    if record_size == 0 && records > 0 {
        return Err(bad(format!(
            "the header says {records} rows of 0 bytes (`<RecordByteSize>` 0)"
        )));
    }
    within(
        "the rows",
        header.offset,
        header.length,
        body_start,
        body_len,
    )?;
    let mut chosen: Vec<&FieldHeader> = Vec::new();
    for f in &header.fields {
        if needed.is_none_or(|n| n.contains(&f.name)) && !chosen.iter().any(|c| c.name == f.name) {
            chosen.push(f);
        }
    }
    // Symbol tables, read in file order, then interned side by side.
    let mut tables: Vec<Vec<u8>> = Vec::with_capacity(chosen.len());
    for f in &chosen {
        check_field(f, records, record_size)?;
        within(
            &format!("the symbol table of field `{}`", f.name),
            f.offset,
            f.length,
            body_start,
            body_len,
        )?;
        tables.push(read_at(file, body_start + f.offset, f.length)?);
    }
    let interned: Vec<Result<Interned, String>> = chosen
        .par_iter()
        .zip(tables.par_iter())
        .with_max_len(1)
        .map(|(f, bytes)| {
            let seed = seeds.get(&f.name).cloned().unwrap_or_default();
            symbols(bytes, f, body_start + f.offset, seed)
        })
        .collect();
    drop(tables);
    let mut cols: Vec<Column> = Vec::with_capacity(chosen.len());
    let mut formatted = Vec::new();
    for (f, t) in chosen.iter().zip(interned) {
        let (syms, map, numbers) = t.map_err(bad)?;
        if numbers && shows_numbers_formatted(&f.number_format) {
            formatted.push((f.name.clone(), f.number_format.clone()));
        }
        cols.push(Column::new(f, syms, map, records)?);
    }
    if records > 0 && !cols.is_empty() {
        rows(
            file,
            body_start + header.offset,
            records,
            record_size,
            &mut cols,
        )?;
    }
    let rows = usize::try_from(records).map_err(|_| {
        bad(format!(
            "{records} rows are more than this machine can hold"
        ))
    })?;
    let frame = Frame {
        names: chosen.iter().map(|f| f.name.clone()).collect(),
        cols: cols
            .into_iter()
            .map(|c| FrameColumn {
                ids: c.ids,
                syms: c.syms,
            })
            .collect(),
        rows,
        origins: None,
    };
    Ok(Loaded { frame, formatted })
}

/// Number formats under which Qlik shows a pure number as other text than
/// the number (a date, a time, an amount).
fn shows_numbers_formatted(format: &str) -> bool {
    matches!(
        format.to_ascii_uppercase().as_str(),
        "DATE" | "TIME" | "TIMESTAMP" | "INTERVAL" | "MONEY"
    )
}

/// A field's symbols, the id of each QVD symbol index, and whether some
/// symbol is a pure number (types 1 and 2).
type Interned = (Symbols, IdList, bool);

fn bad(message: String) -> QvdError {
    QvdError::Bad(message)
}

/// Checks that `length` bytes at `offset` after the header are in the
/// file.
fn within(
    what: &str,
    offset: u64,
    length: u64,
    body_start: u64,
    body_len: u64,
) -> Result<(), QvdError> {
    match offset.checked_add(length) {
        Some(end) if end <= body_len => Ok(()),
        _ => Err(bad(format!(
            "{what} would take bytes {}..{}, past the end of the file at byte {}: it is truncated or damaged",
            body_start.saturating_add(offset),
            body_start.saturating_add(offset).saturating_add(length),
            body_start + body_len
        ))),
    }
}

/// Checks a field's bits and symbol count against the record and its
/// table.
fn check_field(f: &FieldHeader, records: u64, record_size: u64) -> Result<(), QvdError> {
    let bits = record_size.saturating_mul(8);
    // A file without rows may describe bits past its 1-byte records.
    if records > 0 && f.bit_offset.saturating_add(f.bit_width) > bits {
        return Err(bad(format!(
            "field `{}`: its bits {}..{} pass the end of the {record_size}-byte records",
            f.name,
            f.bit_offset,
            f.bit_offset.saturating_add(f.bit_width)
        )));
    }
    // Every symbol takes at least 2 bytes (a type and an empty text's NUL).
    if f.no_of_symbols.saturating_mul(2) > f.length || f.no_of_symbols > MAX_SYMBOLS as u64 {
        return Err(bad(format!(
            "field `{}`: {} symbols cannot fit in its {}-byte symbol table",
            f.name, f.no_of_symbols, f.length
        )));
    }
    Ok(())
}

/// `length` bytes at `at` (checked to be in the file).
fn read_at<R: Read + Seek>(file: &mut R, at: u64, length: u64) -> Result<Vec<u8>, QvdError> {
    let len = usize::try_from(length).map_err(|_| {
        bad(format!(
            "{length} bytes are more than this machine can hold"
        ))
    })?;
    let mut out = vec![0; len];
    file.seek(SeekFrom::Start(at)).map_err(QvdError::Io)?;
    file.read_exact(&mut out).map_err(QvdError::Io)?;
    Ok(out)
}

/// Interns the symbol table of `f` (`bytes`, starting at byte `at` of the
/// file) into `syms`: empty, or the model's symbols of the field, so that
/// the values it holds keep their ids and the column needs no mapping.
fn symbols(bytes: &[u8], f: &FieldHeader, at: u64, mut syms: Symbols) -> Result<Interned, String> {
    let n = usize::try_from(f.no_of_symbols).unwrap_or(usize::MAX);
    let mut map = IdList::default();
    let mut rest = bytes;
    let mut numbers = false;
    let mut reserved = false;
    for k in 0..n {
        let pos = at + (bytes.len() - rest.len()) as u64;
        let short = || {
            format!(
                "field `{}`: the symbol table ends inside symbol {} of {n} (at byte {pos}): it is truncated or damaged",
                f.name,
                k + 1
            )
        };
        let Some((&kind, tail)) = rest.split_first() else {
            return Err(short());
        };
        let text = |tail| text_at(tail, f, k, pos).ok_or_else(short)?;
        let (id, used) = match kind {
            1 => {
                let (b, _) = tail.split_first_chunk::<4>().ok_or_else(short)?;
                (
                    syms.intern(Value::Num(f64::from(i32::from_le_bytes(*b)))),
                    4,
                )
            }
            2 => {
                let (b, _) = tail.split_first_chunk::<8>().ok_or_else(short)?;
                (syms.intern(Value::Num(f64::from_le_bytes(*b))), 8)
            }
            4 => {
                let (t, used) = text(tail)?;
                let id = text_symbol(&mut syms, t);
                if !reserved {
                    // The first text makes a text store: room for the rest.
                    syms.reserve(n - k);
                    reserved = true;
                }
                (id, used)
            }
            5 => {
                let (b, after) = tail.split_first_chunk::<4>().ok_or_else(short)?;
                let (t, used) = text(after)?;
                (
                    syms.intern(dual(f64::from(i32::from_le_bytes(*b)), t)),
                    4 + used,
                )
            }
            6 => {
                let (b, after) = tail.split_first_chunk::<8>().ok_or_else(short)?;
                let (t, used) = text(after)?;
                (syms.intern(dual(f64::from_le_bytes(*b), t)), 8 + used)
            }
            other => {
                return Err(format!(
                    "field `{}`: symbol {} (at byte {pos}) has type byte 0x{other:02X}, which is no QVD symbol type (0x01, 0x02, 0x04, 0x05, 0x06): the file is damaged",
                    f.name,
                    k + 1
                ));
            }
        };
        numbers |= matches!(kind, 1 | 2);
        map.push(id);
        rest = tail.get(used..).ok_or_else(short)?;
    }
    if syms.is_full() {
        return Err(format!(
            "field `{}` has more than {MAX_SYMBOLS} distinct values, the most a field can hold",
            f.name
        ));
    }
    Ok((syms, map, numbers))
}

/// The id of a text symbol: pure text, even when it reads as a number
/// (Qlik kept it as text: `0033B2`, 15-digit codes).
fn text_symbol(syms: &mut Symbols, t: &str) -> SymbolId {
    if parse_number(t).is_none() {
        // What `intern_text` does with a text that is no number: found or
        // added as pure text, hashed once, nothing allocated.
        syms.intern_text(t)
    } else {
        syms.intern(Value::Text(Arc::from(t)))
    }
}

/// The NUL-terminated text at the start of `tail` and the bytes it
/// takes; `None` without a NUL; an error when it is not UTF-8 (symbol `k`
/// of `f`, at byte `pos`).
fn text_at<'b>(
    tail: &'b [u8],
    f: &FieldHeader,
    k: usize,
    pos: u64,
) -> Option<Result<(&'b str, usize), String>> {
    let end = memchr::memchr(0, tail)?;
    let t = tail.get(..end)?;
    Some(match std::str::from_utf8(t) {
        Ok(t) => Ok((t, end + 1)),
        Err(_) => Err(format!(
            "field `{}`: the text of symbol {} (at byte {pos}) is not UTF-8",
            f.name,
            k + 1
        )),
    })
}

/// A dual symbol as the model keeps it: a plain number when its text is
/// the one Qlik shows for the number anyway (as a file cell `64` is), a
/// dual keeping its text otherwise (`10.0`, `02345678910`, `A`).
fn dual(n: f64, text: &str) -> Value {
    let b = text.as_bytes();
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let shown = if !digits.is_empty()
        && digits.len() <= 15
        && digits.iter().all(u8::is_ascii_digit)
        && (digits.len() == 1 || digits.first() != Some(&b'0'))
        && text != "-0"
    {
        // A plain integer: shown as itself when it is the number.
        let v = digits
            .iter()
            .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
        let v = if digits.len() == b.len() { v } else { -v };
        v as f64 == n
    } else {
        format_number(n) == text
    };
    if shown {
        Value::Num(n)
    } else {
        Value::Dual(n, Arc::from(text))
    }
}

/// One field being decoded.
struct Column {
    name: String,
    /// Byte of the record where the field's bits start.
    byte: usize,
    /// Bit in that byte.
    shift: u32,
    width: u64,
    bias: i64,
    /// Id of each QVD symbol index (a field new to the model: index k
    /// is id k, nothing listed).
    map: IdList,
    syms: Symbols,
    ids: Vec<SymbolId>,
}

impl Column {
    fn new(
        f: &FieldHeader,
        syms: Symbols,
        map: IdList,
        records: u64,
    ) -> Result<Self, QvdError> {
        let byte = usize::try_from(f.bit_offset / 8)
            .map_err(|_| bad(format!("field `{}`: its bit offset is too large", f.name)))?;
        Ok(Self {
            name: f.name.clone(),
            byte,
            shift: (f.bit_offset % 8) as u32,
            width: f.bit_width,
            bias: f.bias,
            map,
            syms,
            // `records` is at most the file's length (checked): this much
            // memory is what the column takes anyway.
            ids: Vec::with_capacity(usize::try_from(records).unwrap_or(0)),
        })
    }

    /// The id of stored bits `stored` in row `row` (0-based, for the
    /// message).
    fn id(&self, stored: u64, row: u64) -> Result<SymbolId, QvdError> {
        let index = i128::from(stored) + i128::from(self.bias);
        if index < 0 {
            return Ok(SymbolId::NULL);
        }
        usize::try_from(index)
            .ok()
            .and_then(|i| self.map.get(i))
            .ok_or_else(|| {
                bad(format!(
                    "field `{}`: row {} holds symbol index {index}, but the field has {} symbols: the file is damaged",
                    self.name,
                    row + 1,
                    self.map.len()
                ))
            })
    }

    /// Decodes the `n` records of `buf` (`size` bytes each, then [`PAD`]
    /// bytes), the first of which is row `first`.
    fn decode(&mut self, buf: &[u8], n: usize, size: usize, first: u64) -> Result<(), QvdError> {
        if self.width == 0 {
            // Every row holds the same index.
            let id = self.id(0, first)?;
            self.ids.extend(std::iter::repeat_n(id, n));
            return Ok(());
        }
        let shift = self.shift;
        let width = self.width;
        if u64::from(shift) + width <= 64 {
            let mask = if width == 64 {
                u64::MAX
            } else {
                (1u64 << width) - 1
            };
            // Stored values below `nulls` are NULL (a bias of -2: 0 and
            // 1); the others index the symbols from there.
            let nulls = u64::try_from(-self.bias.min(0)).unwrap_or(u64::MAX);
            let positive = self.bias > 0;
            self.ids.reserve(n);
            for r in 0..n {
                let p = r * size + self.byte;
                let mut w = [0u8; 8];
                // INVARIANT: byte < size (the field's bits are within the
                // record, checked), r < n, and buf holds n * size + PAD
                // bytes: p + 8 <= n * size + PAD.
                #[expect(clippy::indexing_slicing, reason = "INVARIANT: see above")]
                w.copy_from_slice(&buf[p..p + 8]);
                let stored = (u64::from_le_bytes(w) >> shift) & mask;
                let id = if stored < nulls {
                    SymbolId::NULL
                } else if let (false, Some(id)) = (
                    positive,
                    usize::try_from(stored - nulls)
                        .ok()
                        .and_then(|i| self.map.get(i)),
                ) {
                    id
                } else {
                    // A positive bias, or an index past the symbols (the
                    // error): the general rule says which.
                    self.id(stored, first + r as u64)?
                };
                self.ids.push(id);
            }
        } else {
            let mask = (1u128 << width) - 1;
            for r in 0..n {
                let p = r * size + self.byte;
                let mut w = [0u8; 16];
                #[expect(clippy::indexing_slicing, reason = "INVARIANT: as above, PAD = 16")]
                w.copy_from_slice(&buf[p..p + 16]);
                let stored = (u128::from_le_bytes(w) >> shift) & mask;
                // width <= 64: the stored bits fit.
                let id = self.id(stored as u64, first + r as u64)?;
                self.ids.push(id);
            }
        }
        Ok(())
    }
}

/// Decodes the `records` rows of `size` bytes at byte `at` of the file
/// into `cols`, a chunk at a time, the columns side by side.
fn rows<R: Read + Seek>(
    file: &mut R,
    at: u64,
    records: u64,
    size: u64,
    cols: &mut [Column],
) -> Result<(), QvdError> {
    let size = usize::try_from(size).map_err(|_| {
        bad(format!(
            "records of {size} bytes are more than this machine can hold"
        ))
    })?;
    let per_chunk = (CHUNK_BYTES / size).max(1);
    let mut buf = vec![0u8; per_chunk * size + PAD];
    file.seek(SeekFrom::Start(at)).map_err(QvdError::Io)?;
    let mut done = 0u64;
    while done < records {
        let n = usize::try_from(records - done).map_or(per_chunk, |left| left.min(per_chunk));
        let bytes = n * size;
        let Some(dest) = buf.get_mut(..bytes) else {
            return Err(bad(String::from("a chunk of rows does not fit its buffer")));
        };
        file.read_exact(dest).map_err(QvdError::Io)?;
        // Bytes past this chunk's records are zero (the last chunk is
        // shorter than the buffer).
        if let Some(tail) = buf.get_mut(bytes..) {
            tail.fill(0);
        }
        let chunk = &buf;
        let results: Vec<Result<(), QvdError>> = cols
            .par_iter_mut()
            .with_max_len(1)
            .map(|c| c.decode(chunk, n, size, done))
            .collect();
        for r in results {
            r?;
        }
        done += n as u64;
    }
    Ok(())
}
