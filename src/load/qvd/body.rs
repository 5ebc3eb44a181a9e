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

use std::sync::Arc;

use rayon::prelude::*;

use super::header::{FieldHeader, Header};
use super::{Fields, Loaded, QvdError, ReadAt};
use crate::load::frame::{Frame, FrameColumn};
use crate::model::{IdList, MAX_SYMBOLS, SymbolId, Symbols, Value, format_number};

/// Zero bytes after the last record of a chunk, so a field's window of
/// up to 16 bytes is always there to read.
const PAD: usize = 16;

/// Bytes of rows decoded at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// Bytes of a symbol table read at a time (more when one symbol is
/// longer).
const WINDOW_BYTES: usize = 1 << 20;

/// Reads the fields of `header` that `needed` names (all for `None`; the
/// first of two fields of one name) from `file`, whose header ends at
/// `body_start` and which is `file_len` bytes long.
pub(super) fn read<S: ReadAt + ?Sized>(
    file: &S,
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
    for f in &chosen {
        check_field(f, records, record_size)?;
        within(
            &format!("the symbol table of field `{}`", f.name),
            f.offset,
            f.length,
            body_start,
            body_len,
        )?;
    }
    // Each symbol table read a window at a time and interned, side by side.
    let interned: Vec<Result<Interned, QvdError>> = chosen
        .par_iter()
        .with_max_len(1)
        .map(|f| {
            let seed = seeds.get(&f.name).cloned().unwrap_or_default();
            symbols(file, body_start + f.offset, f, seed)
        })
        .collect();
    let rows = usize::try_from(records).map_err(|_| {
        bad(format!(
            "{records} rows are more than this machine can hold"
        ))
    })?;
    let mut cols: Vec<Column> = Vec::with_capacity(chosen.len());
    let mut symbols = Vec::with_capacity(chosen.len());
    let mut formatted = Vec::new();
    for (f, t) in chosen.iter().zip(interned) {
        let (syms, map, numbers) = t?;
        if numbers && shows_numbers_formatted(&f.number_format) {
            formatted.push((f.name.clone(), f.number_format.clone()));
        }
        cols.push(Column::new(f, map)?);
        symbols.push(syms);
    }
    // `rows` is at most the file's length (checked): this much memory is
    // what the columns take anyway. Filled side by side: first touching
    // the pages is most of the cost.
    let mut ids: Vec<Vec<SymbolId>> = cols
        .par_iter()
        .with_max_len(1)
        .map(|_| vec![SymbolId::NULL; rows])
        .collect();
    if rows > 0 && !cols.is_empty() {
        decode_rows(
            file,
            body_start + header.offset,
            record_size,
            &cols,
            &mut ids,
        )?;
    }
    let frame = Frame {
        names: chosen.iter().map(|f| f.name.clone()).collect(),
        cols: ids
            .into_iter()
            .zip(symbols)
            .map(|(ids, syms)| FrameColumn { ids, syms })
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

/// A field's symbol table, read a window at a time: the bytes not yet
/// parsed are `buf[lo..hi]`, the table's bytes from `next` to `end` are
/// still in the file.
struct Window<'s, S: ?Sized> {
    src: &'s S,
    next: u64,
    end: u64,
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
}

impl<'s, S: ReadAt + ?Sized> Window<'s, S> {
    /// The `length` bytes at `at` of `src` (checked to be in the file).
    fn new(src: &'s S, at: u64, length: u64) -> Self {
        let size = usize::try_from(length).map_or(WINDOW_BYTES, |l| l.clamp(1, WINDOW_BYTES));
        Self {
            src,
            next: at,
            end: at.saturating_add(length),
            buf: vec![0; size],
            lo: 0,
            hi: 0,
        }
    }

    /// The bytes read and not yet parsed.
    fn bytes(&self) -> &[u8] {
        // INVARIANT: lo <= hi <= buf.len() (`consume` and `more` keep it).
        #[expect(clippy::indexing_slicing, reason = "INVARIANT: see above")]
        &self.buf[self.lo..self.hi]
    }

    /// Where in the file the unparsed bytes start.
    fn position(&self) -> u64 {
        self.next - (self.hi - self.lo) as u64
    }

    /// Marks the first `n` unparsed bytes as parsed.
    fn consume(&mut self, n: usize) {
        self.lo = self.hi.min(self.lo + n);
    }

    /// Reads more of the table after the unparsed bytes (twice the window
    /// when they fill it); `false` at the table's end.
    fn more(&mut self) -> Result<bool, QvdError> {
        if self.next >= self.end {
            return Ok(false);
        }
        self.buf.copy_within(self.lo..self.hi, 0);
        self.hi -= self.lo;
        self.lo = 0;
        if self.hi == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let room = self.buf.len() - self.hi;
        let want = usize::try_from(self.end - self.next).map_or(room, |left| left.min(room));
        // INVARIANT: hi + want <= buf.len() (want <= room).
        #[expect(clippy::indexing_slicing, reason = "INVARIANT: see above")]
        let dest = &mut self.buf[self.hi..self.hi + want];
        self.src
            .read_exact_at(dest, self.next)
            .map_err(QvdError::Io)?;
        self.hi += want;
        self.next += want as u64;
        Ok(true)
    }
}

/// One entry of a symbol table.
enum Entry<'b> {
    /// Types 1 and 2: a pure number.
    Num(f64),
    /// Type 4.
    Text(&'b str),
    /// Types 5 and 6: a number with its text.
    Dual(f64, &'b str),
}

/// Why an entry cannot be read.
enum BadEntry {
    /// A type byte that is no symbol type.
    Type(u8),
    /// A text that is not UTF-8.
    Utf8,
}

/// The entry at the start of `b` and the bytes it takes; `None` when `b`
/// ends inside it.
fn entry(b: &[u8]) -> Result<Option<(Entry<'_>, usize)>, BadEntry> {
    let Some((&kind, tail)) = b.split_first() else {
        return Ok(None);
    };
    /// A NUL-terminated text and the bytes it takes.
    fn text(tail: &[u8]) -> Result<Option<(&str, usize)>, BadEntry> {
        let Some(end) = memchr::memchr(0, tail) else {
            return Ok(None);
        };
        let (t, _) = tail.split_at(end);
        std::str::from_utf8(t)
            .map(|t| Some((t, end + 1)))
            .map_err(|_| BadEntry::Utf8)
    }
    fn int(tail: &[u8]) -> Option<(f64, &[u8])> {
        tail.split_first_chunk::<4>()
            .map(|(b, after)| (f64::from(i32::from_le_bytes(*b)), after))
    }
    fn double(tail: &[u8]) -> Option<(f64, &[u8])> {
        tail.split_first_chunk::<8>()
            .map(|(b, after)| (f64::from_le_bytes(*b), after))
    }
    Ok(match kind {
        1 => int(tail).map(|(n, _)| (Entry::Num(n), 5)),
        2 => double(tail).map(|(n, _)| (Entry::Num(n), 9)),
        4 => text(tail)?.map(|(t, used)| (Entry::Text(t), 1 + used)),
        5 | 6 => {
            let (num, width) = if kind == 5 {
                (int(tail), 4)
            } else {
                (double(tail), 8)
            };
            match num {
                Some((n, after)) => {
                    text(after)?.map(|(t, used)| (Entry::Dual(n, t), 1 + width + used))
                }
                None => None,
            }
        }
        other => return Err(BadEntry::Type(other)),
    })
}

/// Interns the symbol table of `f` (at byte `at` of `src`) into `syms`:
/// empty, or the model's symbols of the field, so that the values it
/// holds keep their ids and the column needs no mapping.
fn symbols<S: ReadAt + ?Sized>(
    src: &S,
    at: u64,
    f: &FieldHeader,
    mut syms: Symbols,
) -> Result<Interned, QvdError> {
    let n = usize::try_from(f.no_of_symbols).unwrap_or(usize::MAX);
    if syms.is_empty()
        && let Some(run) = int_run(src, at, f.length, n)?
    {
        return Ok((run, IdList::Prefix(n), true));
    }
    if syms.is_empty()
        && n >= TEXT_TABLE_MIN
        && let Some(texts) = text_table(src, at, f.length, n)?
    {
        return Ok((texts, IdList::Prefix(n), false));
    }
    let mut window = Window::new(src, at, f.length);
    let mut map = IdList::default();
    let mut numbers = false;
    let mut reserved = false;
    for k in 0..n {
        loop {
            let pos = window.position();
            match entry(window.bytes()) {
                Ok(Some((e, used))) => {
                    let id = match e {
                        Entry::Num(v) => {
                            numbers = true;
                            syms.intern(Value::Num(v))
                        }
                        Entry::Text(t) => {
                            let id = text_symbol(&mut syms, t);
                            if !reserved {
                                // The first text makes a text store: room
                                // for the rest.
                                syms.reserve(n - k);
                                reserved = true;
                            }
                            id
                        }
                        Entry::Dual(v, t) => syms.intern(dual(v, t)),
                    };
                    map.push(id);
                    window.consume(used);
                    break;
                }
                Ok(None) => {
                    if !window.more()? {
                        return Err(bad(format!(
                            "field `{}`: the symbol table ends inside symbol {} of {n} (at byte {pos}): it is truncated or damaged",
                            f.name,
                            k + 1
                        )));
                    }
                }
                Err(BadEntry::Type(other)) => {
                    return Err(bad(format!(
                        "field `{}`: symbol {} (at byte {pos}) has type byte 0x{other:02X}, which is no QVD symbol type (0x01, 0x02, 0x04, 0x05, 0x06): the file is damaged",
                        f.name,
                        k + 1
                    )));
                }
                Err(BadEntry::Utf8) => {
                    return Err(bad(format!(
                        "field `{}`: the text of symbol {} (at byte {pos}) is not UTF-8",
                        f.name,
                        k + 1
                    )));
                }
            }
        }
    }
    if syms.is_full() {
        return Err(bad(format!(
            "field `{}` has more than {MAX_SYMBOLS} distinct values, the most a field can hold",
            f.name
        )));
    }
    Ok((syms, map, numbers))
}

/// Symbol tables at least this long are tried as [`text_table`]s.
const TEXT_TABLE_MIN: usize = 1 << 12;

/// A symbol table of `n` texts only (type 4: names, codes, user ids),
/// `length` bytes at `at` of `src`, as interning them one by one would
/// make, the index built in one pass; `None` when it holds anything else,
/// two equal texts, or is damaged (the entry by entry reading then says
/// what is wrong).
fn text_table<S: ReadAt + ?Sized>(
    src: &S,
    at: u64,
    length: u64,
    n: usize,
) -> Result<Option<Symbols>, QvdError> {
    // The texts take the table's bytes less a type byte and a NUL each.
    let size = usize::try_from(length.saturating_sub(2 * n as u64)).unwrap_or(0);
    let mut bytes = String::with_capacity(size);
    let mut ends: Vec<u32> = Vec::with_capacity(n);
    let mut window = Window::new(src, at, length);
    while ends.len() < n {
        match entry(window.bytes()) {
            Ok(Some((Entry::Text(t), used))) => {
                bytes.push_str(t);
                let Ok(end) = u32::try_from(bytes.len()) else {
                    return Ok(None);
                };
                ends.push(end);
                window.consume(used);
            }
            Ok(None) => {
                if !window.more()? {
                    return Ok(None);
                }
            }
            Ok(Some(_)) | Err(_) => return Ok(None),
        }
    }
    Ok(Symbols::from_distinct_texts(bytes, ends))
}

/// A symbol table of `n` ints (type 1, five bytes each, `length` bytes at
/// `at` of `src`) counting up by one from the first (row numbers, order
/// ids: the commonest keys), as the run of integers interning them one by
/// one would make.
fn int_run<S: ReadAt + ?Sized>(
    src: &S,
    at: u64,
    length: u64,
    n: usize,
) -> Result<Option<Symbols>, QvdError> {
    if n == 0 || Some(length) != (n as u64).checked_mul(5) {
        return Ok(None);
    }
    let value = |e: &[u8]| -> Option<i64> {
        let (&kind, v) = e.split_first()?;
        let v: [u8; 4] = v.try_into().ok()?;
        (kind == 1).then(|| i64::from(i32::from_le_bytes(v)))
    };
    let mut window = Window::new(src, at, length);
    let mut first = None;
    let mut k: i64 = 0;
    while window.more()? {
        let whole = window.bytes().len() / 5 * 5;
        let (entries, _) = window.bytes().split_at(whole);
        for e in entries.chunks_exact(5) {
            let v = value(e);
            let start = *first.get_or_insert(v);
            match (v, start) {
                (Some(v), Some(start)) if start.checked_add(k) == Some(v) => k += 1,
                _ => return Ok(None),
            }
        }
        window.consume(whole);
    }
    Ok(first.flatten().and_then(|first| Symbols::run(first, n)))
}

/// The id of a text symbol: pure text, even when it reads as a number
/// (Qlik kept it as text: `0033B2`, 15-digit codes).
fn text_symbol(syms: &mut Symbols, t: &str) -> SymbolId {
    // Found or added as pure text, hashed once, nothing allocated (in a
    // text store), and not parsed as a number.
    syms.intern_pure_text(t)
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

/// How to decode one field's bits.
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
}

impl Column {
    fn new(f: &FieldHeader, map: IdList) -> Result<Self, QvdError> {
        let byte = usize::try_from(f.bit_offset / 8)
            .map_err(|_| bad(format!("field `{}`: its bit offset is too large", f.name)))?;
        Ok(Self {
            name: f.name.clone(),
            byte,
            shift: (f.bit_offset % 8) as u32,
            width: f.bit_width,
            bias: f.bias,
            map,
        })
    }

    /// The id of stored bits `stored` in row `row` (0-based, for the
    /// message).
    fn id(&self, stored: u64, row: usize) -> Result<SymbolId, QvdError> {
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

    /// Decodes the records of `buf` (`size` bytes each, then [`PAD`]
    /// bytes, one for each id of `out`), the first of which is row
    /// `first`, into `out`.
    fn decode(
        &self,
        buf: &[u8],
        size: usize,
        first: usize,
        out: &mut [SymbolId],
    ) -> Result<(), QvdError> {
        if self.width == 0 {
            // Every row holds the same index.
            out.fill(self.id(0, first)?);
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
            // 1); the others index the symbols from there. One loop per
            // kind of symbol map, so that no row asks which kind it is.
            let nulls = u64::try_from(-self.bias.min(0)).unwrap_or(u64::MAX);
            let bits = Bits {
                size,
                byte: self.byte,
                shift,
                mask,
                nulls,
            };
            match (&self.map, self.bias > 0) {
                (IdList::Prefix(n), false) => {
                    let n = *n;
                    self.decode_mapped(buf, first, out, &bits, |i| {
                        (i < n).then(|| SymbolId::from_index(i)).flatten()
                    })?;
                }
                (IdList::Listed(list), false) => {
                    self.decode_mapped(buf, first, out, &bits, |i| list.get(i).copied())?;
                }
                // A positive bias: the general rule, row by row.
                (_, true) => self.decode_mapped(buf, first, out, &bits, |_| None)?,
            }
        } else {
            let mask = (1u128 << width) - 1;
            for (r, slot) in out.iter_mut().enumerate() {
                let p = r * size + self.byte;
                let mut w = [0u8; 16];
                #[expect(clippy::indexing_slicing, reason = "INVARIANT: as above, PAD = 16")]
                w.copy_from_slice(&buf[p..p + 16]);
                let stored = (u128::from_le_bytes(w) >> shift) & mask;
                // width <= 64: the stored bits fit.
                *slot = self.id(stored as u64, first + r)?;
            }
        }
        Ok(())
    }
}

/// Where a column's bits are in each record, and which stored values are
/// NULL.
struct Bits {
    size: usize,
    byte: usize,
    shift: u32,
    mask: u64,
    nulls: u64,
}

impl Column {
    /// [`Column::decode`] of a column whose bits fit in 8 bytes: `map`
    /// gives the id of a symbol index; an index it does not know goes to
    /// the general rule ([`Column::id`]), which says what is wrong.
    fn decode_mapped(
        &self,
        buf: &[u8],
        first: usize,
        out: &mut [SymbolId],
        bits: &Bits,
        map: impl Fn(usize) -> Option<SymbolId>,
    ) -> Result<(), QvdError> {
        for (r, slot) in out.iter_mut().enumerate() {
            let p = r * bits.size + bits.byte;
            let mut w = [0u8; 8];
            // INVARIANT: byte < size (the field's bits are within the
            // record, checked), r < out.len(), and buf holds
            // out.len() * size + PAD bytes: p + 8 <= that.
            #[expect(clippy::indexing_slicing, reason = "INVARIANT: see above")]
            w.copy_from_slice(&buf[p..p + 8]);
            let stored = (u64::from_le_bytes(w) >> bits.shift) & bits.mask;
            *slot = if stored < bits.nulls {
                SymbolId::NULL
            } else if let Some(id) = usize::try_from(stored - bits.nulls).ok().and_then(&map) {
                id
            } else {
                self.id(stored, first + r)?
            };
        }
        Ok(())
    }
}

/// Chunks of rows one task decodes in turn, through one buffer.
const CHUNKS_PER_PART: usize = 4;

/// Decodes the rows of `size` bytes at byte `at` of `file` into `ids` (one
/// column of ids, as long as the rows, for each of `cols`): parts of the
/// rows side by side, each read and decoded a chunk at a time. The first
/// damaged row, in row order, is the error.
fn decode_rows<S: ReadAt + ?Sized>(
    file: &S,
    at: u64,
    size: u64,
    cols: &[Column],
    ids: &mut [Vec<SymbolId>],
) -> Result<(), QvdError> {
    let size = usize::try_from(size).map_err(|_| {
        bad(format!(
            "records of {size} bytes are more than this machine can hold"
        ))
    })?;
    let per_chunk = (CHUNK_BYTES / size).max(1);
    let per_part = per_chunk * CHUNKS_PER_PART;
    // The parts, each with its slice of every column.
    let mut columns: Vec<_> = ids.iter_mut().map(|c| c.chunks_mut(per_part)).collect();
    let mut parts: Vec<Vec<&mut [SymbolId]>> = Vec::new();
    while let Some(part) = columns
        .iter_mut()
        .map(Iterator::next)
        .collect::<Option<Vec<_>>>()
    {
        parts.push(part);
    }
    let results: Vec<Result<(), QvdError>> = parts
        .into_par_iter()
        .enumerate()
        .with_max_len(1)
        .map(|(k, mut outs)| {
            let mut buf = vec![0u8; per_chunk * size + PAD];
            let mut first = k * per_part;
            let mut chunks: Vec<_> = outs.iter_mut().map(|o| o.chunks_mut(per_chunk)).collect();
            while let Some(outs) = chunks
                .iter_mut()
                .map(Iterator::next)
                .collect::<Option<Vec<_>>>()
            {
                let n = outs.first().map_or(0, |o| o.len());
                let bytes = n * size;
                // INVARIANT: n <= per_chunk: the chunk and PAD bytes fit.
                #[expect(clippy::indexing_slicing, reason = "INVARIANT: see above")]
                let (dest, pad) = buf[..bytes + PAD].split_at_mut(bytes);
                file.read_exact_at(dest, at + (first * size) as u64)
                    .map_err(QvdError::Io)?;
                // Bytes past this chunk's records are zero (the last chunk
                // is shorter than the buffer).
                pad.fill(0);
                for (c, out) in cols.iter().zip(outs) {
                    c.decode(&buf, size, first, out)?;
                }
                first += n;
            }
            Ok(())
        })
        .collect();
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: impl IntoIterator<Item = i32>) -> Vec<u8> {
        values
            .into_iter()
            .flat_map(|v| std::iter::once(1u8).chain(v.to_le_bytes()))
            .collect()
    }

    /// The run `int_run` finds in the symbol table `bytes` of `n` entries.
    fn run_of(bytes: &[u8], n: usize) -> Option<Symbols> {
        int_run(bytes, 0, bytes.len() as u64, n).ok().flatten()
    }

    #[test]
    fn counting_ints_are_a_run_as_interning_them_would_make() {
        for (first, n) in [(0, 1), (-5, 10), (1000, 70_000)] {
            let bytes = ints(first..first + n);
            let run = run_of(&bytes, n as usize).unwrap();
            let mut one_by_one = Symbols::default();
            for v in first..first + n {
                one_by_one.intern(Value::Num(f64::from(v)));
            }
            assert_eq!(run.len(), one_by_one.len());
            assert!(run.is_run() && one_by_one.is_run());
            for id in one_by_one.ids() {
                let (a, b) = (run.get(id).unwrap(), one_by_one.get(id).unwrap());
                assert!(a.same_as(&b) && a.text() == b.text(), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn anything_else_is_not_a_run() {
        assert!(run_of(&ints([0, 1, 3]), 3).is_none());
        assert!(run_of(&ints([2, 1]), 2).is_none());
        assert!(run_of(&ints([0, 1]), 3).is_none());
        let mut double = ints([0]);
        double.extend([2u8]);
        double.extend(1.0f64.to_le_bytes());
        assert!(run_of(&double, 2).is_none());
        let mut wrong_type = ints([0, 1]);
        wrong_type[5] = 5;
        assert!(run_of(&wrong_type, 2).is_none());
        assert!(run_of(&[], 0).is_none());
    }
}
