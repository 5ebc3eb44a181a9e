//! Excel workbooks: `FROM book.xlsx (ooxml, …)` and `FROM book.xls (biff, …)`,
//! read through `calamine`, one sheet into a [`Frame`].
//!
//! What Qlik's format items mean here: `embedded labels` (the default) takes
//! the first row read as field names, `no labels` names fields by their
//! column letter (`A`, `B`, …), `explicit labels` is read as `embedded
//! labels`, `header is n lines` skips `n` rows first, `table is SHEET`
//! picks the sheet (a trailing `$`, which `.xls` scripts write, is dropped;
//! names compare case-insensitively when none matches exactly). Rows are
//! counted from the first row of the sheet that holds a cell.
//!
//! How cells become values (Qlik's rules here are partly unverified; each
//! unverified rule a load relies on is reported in [`SheetRead::inferred`]):
//! numbers are numbers, text is text (digits included: Excel typed it),
//! `TRUE`/`FALSE` are -1 and 0, empty cells and error cells (`#N/A`) are
//! NULL, dates and times are duals of the day serial (1900 date system,
//! also for 1904 workbooks) and a text the caller formats from the script's
//! `DateFormat`, `TimestampFormat` or `TimeFormat`.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use calamine::{Data, Range, Reader, SheetType, Sheets, Xls, Xlsx, open_workbook};

use crate::model::{RowOrigin, Value};
use crate::script::ast::FormatItem;

use super::frame::Frame;

/// The two workbook formats Qlik names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `biff`: Excel 97–2003 `.xls`.
    Biff,
    /// `ooxml`: Excel 2007 and later `.xlsx`, `.xlsm`.
    Ooxml,
}

impl Kind {
    /// The format item naming it.
    pub(crate) fn item(self) -> &'static str {
        match self {
            Kind::Biff => "biff",
            Kind::Ooxml => "ooxml",
        }
    }
}

/// The workbook format the format items name, if any (`biff`, `ooxml`).
pub(crate) fn excel_kind(items: &[FormatItem]) -> Option<Kind> {
    items.iter().find_map(|i| match i {
        FormatItem::OtherFileType(t) if t.eq_ignore_ascii_case("biff") => Some(Kind::Biff),
        FormatItem::OtherFileType(t) if t.eq_ignore_ascii_case("ooxml") => Some(Kind::Ooxml),
        _ => None,
    })
}

/// How field names are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Labels {
    /// The first row read holds the names.
    Embedded,
    /// No names: fields are named by column letter.
    None,
}

/// A parsed format specification for a workbook.
#[derive(Clone, Debug)]
pub(crate) struct ExcelFormat {
    pub kind: Kind,
    pub labels: Labels,
    /// Rows skipped before the labels (or the data).
    pub header_rows: usize,
    /// The sheet, as the script names it.
    pub sheet: Option<String>,
}

/// A format item a workbook read cannot honour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FormatIssue {
    /// Not supported for workbooks (`delimiter is`, `filters(…)` …): an error.
    Unsupported(String),
    /// No effect on a workbook (a text encoding …): a warning.
    Ignored(String),
    /// `explicit labels`, read as `embedded labels` (a note).
    ExplicitLabels,
}

/// Reads the format items of a workbook load.
pub(crate) fn excel_format(items: &[FormatItem], kind: Kind) -> (ExcelFormat, Vec<FormatIssue>) {
    let mut fmt = ExcelFormat {
        kind,
        labels: Labels::Embedded,
        header_rows: 0,
        sheet: None,
    };
    let mut issues = Vec::new();
    for item in items {
        match item {
            FormatItem::OtherFileType(t) if excel_kind(std::slice::from_ref(item)).is_some() => {
                if !t.eq_ignore_ascii_case(kind.item()) {
                    issues.push(FormatIssue::Unsupported(t.to_lowercase()));
                }
            }
            FormatItem::EmbeddedLabels => fmt.labels = Labels::Embedded,
            FormatItem::ExplicitLabels => {
                fmt.labels = Labels::Embedded;
                issues.push(FormatIssue::ExplicitLabels);
            }
            FormatItem::NoLabels => fmt.labels = Labels::None,
            FormatItem::HeaderLines(n) => fmt.header_rows = *n as usize,
            FormatItem::TableIs(t) => fmt.sheet = Some(t.clone()),
            FormatItem::Utf8 => issues.push(FormatIssue::Ignored(String::from("utf8"))),
            FormatItem::Unicode => issues.push(FormatIssue::Ignored(String::from("unicode"))),
            FormatItem::Ansi => issues.push(FormatIssue::Ignored(String::from("ansi"))),
            FormatItem::Oem => issues.push(FormatIssue::Ignored(String::from("oem"))),
            FormatItem::Mac => issues.push(FormatIssue::Ignored(String::from("mac"))),
            FormatItem::Codepage(n) => {
                issues.push(FormatIssue::Ignored(format!("codepage is {n}")))
            }
            FormatItem::NoEof => issues.push(FormatIssue::Ignored(String::from("no eof"))),
            FormatItem::Txt => issues.push(FormatIssue::Unsupported(String::from("txt"))),
            FormatItem::Fix => issues.push(FormatIssue::Unsupported(String::from("fix"))),
            FormatItem::Qvd => issues.push(FormatIssue::Unsupported(String::from("qvd"))),
            FormatItem::Qvx => issues.push(FormatIssue::Unsupported(String::from("qvx"))),
            FormatItem::OtherFileType(t) => issues.push(FormatIssue::Unsupported(t.to_lowercase())),
            FormatItem::Delimiter(_) => {
                issues.push(FormatIssue::Unsupported(String::from("delimiter is")));
            }
            FormatItem::Msq => issues.push(FormatIssue::Unsupported(String::from("msq"))),
            FormatItem::NoQuotes => {
                issues.push(FormatIssue::Unsupported(String::from("no quotes")))
            }
            FormatItem::RecordLines(n) => {
                issues.push(FormatIssue::Unsupported(format!("record is {n} lines")));
            }
            FormatItem::CommentIs(_) => {
                issues.push(FormatIssue::Unsupported(String::from("comment is")));
            }
            FormatItem::Other(o) => {
                // QlikView's file wizard transformations change which cells
                // load: never silently dropped.
                let word: String = o
                    .trim_start()
                    .chars()
                    .take_while(char::is_ascii_alphabetic)
                    .collect();
                if word.eq_ignore_ascii_case("filters") {
                    issues.push(FormatIssue::Unsupported(String::from("filters(…)")));
                } else {
                    issues.push(FormatIssue::Ignored(o.clone()));
                }
            }
        }
    }
    (fmt, issues)
}

/// What a date or time cell is, for the text the caller gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateKind {
    /// A whole day (`DateFormat`).
    Date,
    /// A time of day on day 0 (`TimeFormat`).
    Time,
    /// A day and a time (`TimestampFormat`).
    Timestamp,
    /// A length of time, Excel's `[h]:mm:ss` (`TimeFormat`, hours past 24).
    Interval,
}

/// An unverified rule of Qlik's that a read relied on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Inferred {
    /// Empty cells became NULL.
    EmptyIsNull,
    /// `TRUE`/`FALSE` cells became -1 and 0.
    Booleans,
    /// Date or time cells became duals with a text from the script's formats.
    DateText,
    /// Fields were named by column letter (`no labels`, or an empty label).
    ColumnLetters,
    /// The sheet was found ignoring case.
    SheetCase,
    /// The sheet's first rows are empty (this many): rows, `header is`
    /// included, were counted from the first row holding a cell.
    LeadingRows(u32),
}

/// What a workbook read produced.
#[derive(Debug)]
pub(crate) struct SheetRead {
    pub frame: Frame,
    /// The sheet read, as the workbook names it.
    pub sheet: String,
    /// Error cells of the loaded fields, as `Sheet!C7 #N/A`, in row order.
    pub errors: Vec<String>,
    /// The unverified rules the read relied on, in the order they arose.
    pub inferred: Vec<Inferred>,
}

/// Why a workbook could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExcelError {
    /// Not a workbook of the named kind, or a damaged one.
    Open { kind: Kind, reason: String },
    /// No sheet of the name; the sheets there are.
    NoSheet { wanted: String, sheets: Vec<String> },
    /// A workbook without any sheet.
    NoSheets,
    /// The sheet's cells could not be read.
    Sheet { sheet: String, reason: String },
    /// A row of a security table past what a [`RowOrigin`] can number.
    RowPast(u64),
}

impl ExcelError {
    /// The message, lower-case, user input in backticks; `file` is the
    /// workbook's name as shown.
    pub(crate) fn message(&self, file: &str) -> String {
        match self {
            ExcelError::Open { kind, reason } => {
                let what = match kind {
                    Kind::Biff => "an Excel 97-2003 workbook (`biff`)",
                    Kind::Ooxml => "an Excel 2007+ workbook (`ooxml`)",
                };
                format!("cannot read `{file}` as {what}: {reason}")
            }
            ExcelError::NoSheet { wanted, sheets } => {
                let list: Vec<String> = sheets.iter().map(|s| format!("`{s}`")).collect();
                format!(
                    "no sheet `{wanted}` in `{file}`; its sheets are {}",
                    list.join(", ")
                )
            }
            ExcelError::NoSheets => format!("`{file}` holds no sheet"),
            ExcelError::Sheet { sheet, reason } => {
                format!("cannot read sheet `{sheet}` of `{file}`: {reason}")
            }
            ExcelError::RowPast(row) => format!(
                "a row of this security table is on row {row} of `{file}`, past row {}, the last a row can point at",
                u32::MAX
            ),
        }
    }
}

/// Reads one sheet of a workbook into a frame. `needed`: the fields the
/// load uses (`None`: all); `origins`: the file id rows point at, for
/// security tables (each row's line is its 1-based Excel row); `dates`:
/// the text of a date or time cell from its day serial.
pub(crate) fn read_sheet(
    path: &Path,
    fmt: &ExcelFormat,
    needed: Option<&HashSet<String>>,
    origins: Option<u32>,
    dates: &dyn Fn(f64, DateKind) -> String,
) -> Result<SheetRead, ExcelError> {
    // calamine returns errors for bad input; a panic on a damaged file
    // would still be its bug, not an answer: it becomes an error here.
    let opened = crate::bug::contained(|| open(path, fmt));
    let (range, sheet, is_1904, mut inferred) = match opened {
        Some(r) => r?,
        None => {
            return Err(ExcelError::Open {
                kind: fmt.kind,
                reason: String::from("the workbook reader failed on this file"),
            });
        }
    };
    let mut read = build(&range, &sheet, fmt, needed, origins, is_1904, dates)?;
    for i in std::mem::take(&mut read.inferred) {
        note(i, &mut inferred);
    }
    read.inferred = inferred;
    Ok(read)
}

type Opened = (Range<Data>, String, bool, Vec<Inferred>);

/// Opens the workbook and reads the sheet's cells.
fn open(path: &Path, fmt: &ExcelFormat) -> Result<Opened, ExcelError> {
    let open_err = |reason: String| ExcelError::Open {
        kind: fmt.kind,
        reason,
    };
    let (mut book, is_1904): (Sheets<BufReader<File>>, bool) = match fmt.kind {
        Kind::Biff => {
            let b: Xls<BufReader<File>> =
                open_workbook(path).map_err(|e: calamine::XlsError| open_err(e.to_string()))?;
            let is_1904 = b.has_1904_epoch();
            (Sheets::Xls(b), is_1904)
        }
        Kind::Ooxml => {
            let b: Xlsx<BufReader<File>> =
                open_workbook(path).map_err(|e: calamine::XlsxError| open_err(e.to_string()))?;
            let is_1904 = b.has_1904_epoch();
            (Sheets::Xlsx(b), is_1904)
        }
    };
    let names = book.sheet_names();
    let mut inferred = Vec::new();
    let sheet = match &fmt.sheet {
        Some(wanted) => {
            let (name, by_case) =
                find_sheet(&names, wanted).ok_or_else(|| ExcelError::NoSheet {
                    wanted: wanted.clone(),
                    sheets: names.clone(),
                })?;
            if by_case {
                inferred.push(Inferred::SheetCase);
            }
            name
        }
        // The first worksheet (chart sheets hold no cells).
        None => book
            .sheets_metadata()
            .iter()
            .find(|s| s.typ == SheetType::WorkSheet)
            .map(|s| s.name.clone())
            .or_else(|| names.first().cloned())
            .ok_or(ExcelError::NoSheets)?,
    };
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| ExcelError::Sheet {
            sheet: sheet.clone(),
            reason: e.to_string(),
        })?;
    Ok((range, sheet, is_1904, inferred))
}

/// The sheet a script names, and whether it was found only by ignoring
/// case: the exact name, else without one trailing `$` (`.xls` scripts
/// write `Sheet1$`), else either ignoring case.
fn find_sheet(names: &[String], wanted: &str) -> Option<(String, bool)> {
    let bare = wanted.strip_suffix('$').unwrap_or(wanted);
    for candidate in [wanted, bare] {
        if let Some(n) = names.iter().find(|n| n.as_str() == candidate) {
            return Some((n.clone(), false));
        }
    }
    for candidate in [wanted, bare] {
        if let Some(n) = names
            .iter()
            .find(|n| n.to_lowercase() == candidate.to_lowercase())
        {
            return Some((n.clone(), true));
        }
    }
    None
}

/// Excel's name of a 0-based column: `A` … `Z`, `AA` …
pub(crate) fn column_letters(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// The cells of a range as a frame.
fn build(
    range: &Range<Data>,
    sheet: &str,
    fmt: &ExcelFormat,
    needed: Option<&HashSet<String>>,
    origins: Option<u32>,
    is_1904: bool,
    dates: &dyn Fn(f64, DateKind) -> String,
) -> Result<SheetRead, ExcelError> {
    let mut inferred = Vec::new();
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    if first_row > 0 {
        note(Inferred::LeadingRows(first_row), &mut inferred);
    }
    let (height, width) = range.get_size();
    let mut rows = range.rows().skip(fmt.header_rows);
    let mut row_no = u64::from(first_row) + fmt.header_rows as u64;
    // Field names per column of the range.
    let col_names: Vec<String> = match fmt.labels {
        Labels::Embedded => {
            let labels = rows.next();
            row_no += 1;
            (0..width)
                .map(|c| {
                    let letter = || column_letters(first_col.saturating_add(c as u32));
                    match labels.and_then(|r| r.get(c)) {
                        None | Some(Data::Empty) => {
                            note(Inferred::ColumnLetters, &mut inferred);
                            letter()
                        }
                        Some(Data::String(s)) if s.is_empty() => {
                            note(Inferred::ColumnLetters, &mut inferred);
                            letter()
                        }
                        Some(d) => label_text(d, is_1904, dates),
                    }
                })
                .collect()
        }
        Labels::None => {
            if width > 0 {
                note(Inferred::ColumnLetters, &mut inferred);
            }
            (0..width)
                .map(|c| column_letters(first_col.saturating_add(c as u32)))
                .collect()
        }
    };
    // The columns kept: needed, first of their name.
    let mut names: Vec<String> = Vec::new();
    let mut kept: Vec<usize> = Vec::new();
    for (c, n) in col_names.iter().enumerate() {
        if needed.is_none_or(|s| s.contains(n)) && !names.contains(n) {
            names.push(n.clone());
            kept.push(c);
        }
    }
    let mut frame = Frame::with_names(names);
    let data_rows =
        height.saturating_sub(fmt.header_rows + usize::from(fmt.labels == Labels::Embedded));
    for col in &mut frame.cols {
        col.ids.reserve_exact(data_rows);
    }
    let mut lines = origins.map(|_| Vec::with_capacity(data_rows));
    let mut errors = Vec::new();
    for row in rows {
        // 1-based Excel row number of this row.
        row_no += 1;
        for (col, &c) in frame.cols.iter_mut().zip(&kept) {
            let d = row.get(c);
            match d {
                None | Some(Data::Empty) => note(Inferred::EmptyIsNull, &mut inferred),
                Some(Data::Error(e)) => errors.push(format!(
                    "{sheet}!{}{row_no} {e}",
                    column_letters(first_col.saturating_add(c as u32))
                )),
                Some(Data::Bool(_)) => note(Inferred::Booleans, &mut inferred),
                Some(Data::DateTime(_)) => note(Inferred::DateText, &mut inferred),
                Some(_) => {}
            }
            col.push(cell_value(d, is_1904, dates));
        }
        frame.rows += 1;
        if let (Some(lines), Some(file)) = (&mut lines, origins) {
            let line = u32::try_from(row_no).map_err(|_| ExcelError::RowPast(row_no))?;
            lines.push(RowOrigin { file, line });
        }
    }
    frame.origins = lines;
    Ok(SheetRead {
        frame,
        sheet: sheet.to_string(),
        errors,
        inferred,
    })
}

/// Adds an inferred rule once.
fn note(i: Inferred, list: &mut Vec<Inferred>) {
    if !list.contains(&i) {
        list.push(i);
    }
}

/// A label cell as a field name.
fn label_text(d: &Data, is_1904: bool, dates: &dyn Fn(f64, DateKind) -> String) -> String {
    match d {
        Data::Error(e) => e.to_string(),
        _ => cell_value(Some(d), is_1904, dates).text().into_owned(),
    }
}

/// Days between Excel's 1904 and 1900 date systems.
const DAYS_1904: f64 = 1462.0;

/// A cell as Qlik gives it (error cells and empty cells are NULL).
fn cell_value(d: Option<&Data>, is_1904: bool, dates: &dyn Fn(f64, DateKind) -> String) -> Value {
    match d {
        None | Some(Data::Empty | Data::Error(_)) => Value::Null,
        Some(Data::Int(i)) => Value::Num(*i as f64),
        Some(Data::Float(f)) => Value::Num(*f),
        Some(Data::String(s)) => Value::Text(Arc::from(s.as_str())),
        Some(Data::Bool(b)) => Value::Num(if *b { -1.0 } else { 0.0 }),
        Some(Data::DateTime(dt)) => {
            let raw = dt.as_f64();
            let serial = if is_1904 { raw + DAYS_1904 } else { raw };
            let kind = if dt.is_duration() {
                DateKind::Interval
            } else if serial.fract() == 0.0 {
                DateKind::Date
            } else if (0.0..1.0).contains(&raw) {
                DateKind::Time
            } else {
                DateKind::Timestamp
            };
            let kind_serial = if kind == DateKind::Time || kind == DateKind::Interval {
                raw
            } else {
                serial
            };
            Value::Dual(kind_serial, Arc::from(dates(kind_serial, kind).as_str()))
        }
        // ISO texts (OpenDocument, `t="d"` cells): kept as written.
        Some(Data::DateTimeIso(s) | Data::DurationIso(s)) => Value::Text(Arc::from(s.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line each row of a read points at.
    fn origin_lines(read: &SheetRead) -> Vec<u32> {
        read.frame
            .origins
            .iter()
            .flatten()
            .map(|o| o.line)
            .collect()
    }

    fn dates(serial: f64, kind: DateKind) -> String {
        format!("{kind:?}:{serial}")
    }

    fn fmt(labels: Labels, header_rows: usize) -> ExcelFormat {
        ExcelFormat {
            kind: Kind::Ooxml,
            labels,
            header_rows,
            sheet: None,
        }
    }

    /// A range from rows of cells, its first cell at `start`.
    fn range(start: (u32, u32), rows: Vec<Vec<Data>>) -> Range<Data> {
        let h = rows.len() as u32;
        let w = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let mut r = Range::new(start, (start.0 + h - 1, start.1 + w - 1));
        for (i, row) in rows.into_iter().enumerate() {
            for (j, d) in row.into_iter().enumerate() {
                r.set_value((start.0 + i as u32, start.1 + j as u32), d);
            }
        }
        r
    }

    fn texts(read: &SheetRead) -> Vec<Vec<Option<String>>> {
        (0..read.frame.rows)
            .map(|r| {
                (0..read.frame.cols.len())
                    .map(|c| {
                        let v = read.frame.value(c, r);
                        (!v.is_null()).then(|| v.text().into_owned())
                    })
                    .collect()
            })
            .collect()
    }

    fn s(t: &str) -> Data {
        Data::String(t.to_string())
    }

    #[test]
    fn column_letters_count_like_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(column_letters(16383), "XFD");
    }

    #[test]
    fn sheets_are_found_without_the_dollar_and_then_ignoring_case() {
        let names = vec![String::from("Sheet1"), String::from("Data$")];
        let find = |w: &str| find_sheet(&names, w);
        assert_eq!(find("Sheet1"), Some((String::from("Sheet1"), false)));
        assert_eq!(find("Sheet1$"), Some((String::from("Sheet1"), false)));
        assert_eq!(find("Data$"), Some((String::from("Data$"), false)));
        assert_eq!(find("SHEET1$"), Some((String::from("Sheet1"), true)));
        assert_eq!(find("Sheet2"), None);
    }

    #[test]
    fn cells_become_qlik_values() {
        let r = range(
            (0, 0),
            vec![
                vec![s("N"), s("T"), s("B"), s("E"), s("D")],
                vec![
                    Data::Float(1.0),
                    s("007"),
                    Data::Bool(true),
                    Data::Error(calamine::CellErrorType::NA),
                    Data::DateTime(calamine::ExcelDateTime::new(
                        45658.0,
                        calamine::ExcelDateTimeType::DateTime,
                        false,
                    )),
                ],
                vec![
                    Data::Float(2.5),
                    Data::Empty,
                    Data::Bool(false),
                    Data::Int(3),
                    Data::DateTime(calamine::ExcelDateTime::new(
                        45658.5,
                        calamine::ExcelDateTimeType::DateTime,
                        false,
                    )),
                ],
            ],
        );
        let read = build(
            &r,
            "S",
            &fmt(Labels::Embedded, 0),
            None,
            Some(4),
            false,
            &dates,
        )
        .unwrap();
        assert_eq!(read.frame.names, ["N", "T", "B", "E", "D"]);
        let some = |t: &str| Some(t.to_string());
        assert_eq!(
            texts(&read),
            vec![
                vec![some("1"), some("007"), some("-1"), None, some("Date:45658")],
                vec![
                    some("2.5"),
                    None,
                    some("0"),
                    some("3"),
                    some("Timestamp:45658.5")
                ],
            ]
        );
        // Text of digits stays text; numbers are numbers.
        assert!(read.frame.value(1, 0).num().is_none());
        assert_eq!(read.frame.value(0, 0).num(), Some(1.0));
        assert_eq!(read.frame.value(4, 1).num(), Some(45658.5));
        assert_eq!(read.errors, ["S!D2 #N/A"]);
        assert_eq!(
            read.inferred,
            [
                Inferred::Booleans,
                Inferred::DateText,
                Inferred::EmptyIsNull
            ]
        );
        let lines = origin_lines(&read);
        assert_eq!(lines, [2, 3]);
        assert!(read.frame.origins.iter().flatten().all(|o| o.file == 4));
    }

    #[test]
    fn dates_of_1904_workbooks_are_shifted_and_times_stay_times() {
        let dt = |v: f64, t| {
            cell_value(
                Some(&Data::DateTime(calamine::ExcelDateTime::new(v, t, true))),
                true,
                &dates,
            )
        };
        let day = dt(44196.0, calamine::ExcelDateTimeType::DateTime);
        assert_eq!(day.num(), Some(44196.0 + DAYS_1904));
        assert_eq!(day.text(), format!("Date:{}", 44196.0 + DAYS_1904));
        assert_eq!(
            dt(0.25, calamine::ExcelDateTimeType::DateTime).text(),
            "Time:0.25"
        );
        assert_eq!(
            dt(1.25, calamine::ExcelDateTimeType::TimeDelta).text(),
            "Interval:1.25"
        );
    }

    #[test]
    fn header_rows_no_labels_and_needed_fields() {
        let r = range(
            (2, 1),
            vec![
                vec![s("title")],
                vec![Data::Empty],
                vec![s("A1"), Data::Empty, s("X")],
                vec![Data::Float(1.0), Data::Float(2.0), Data::Float(3.0)],
            ],
        );
        let read = build(
            &r,
            "S",
            &fmt(Labels::Embedded, 2),
            None,
            None,
            false,
            &dates,
        )
        .unwrap();
        // An empty label is named by its column letter.
        assert_eq!(read.frame.names, ["A1", "C", "X"]);
        assert_eq!(read.frame.rows, 1);
        assert!(read.frame.origins.is_none());
        // Rows 1 and 2 of the sheet are empty: counted from row 3.
        assert_eq!(
            read.inferred,
            [Inferred::LeadingRows(2), Inferred::ColumnLetters]
        );

        let read = build(&r, "S", &fmt(Labels::None, 2), None, Some(0), false, &dates).unwrap();
        assert_eq!(read.frame.names, ["B", "C", "D"]);
        assert_eq!(read.frame.rows, 2);
        let lines = origin_lines(&read);
        assert_eq!(lines, [5, 6]);

        let needed: HashSet<String> = [String::from("X")].into();
        let read = build(
            &r,
            "S",
            &fmt(Labels::Embedded, 2),
            Some(&needed),
            None,
            false,
            &dates,
        )
        .unwrap();
        assert_eq!(read.frame.names, ["X"]);
        assert_eq!(texts(&read), vec![vec![Some(String::from("3"))]]);
    }

    #[test]
    fn format_items_for_workbooks() {
        let items = vec![
            FormatItem::OtherFileType(String::from("biff")),
            FormatItem::NoLabels,
            FormatItem::HeaderLines(3),
            FormatItem::TableIs(String::from("Sheet1$")),
            FormatItem::Codepage(1252),
            FormatItem::Delimiter(String::from(",")),
            FormatItem::Other(String::from("filters(Remove(Row, Pos(Top, 1)))")),
            FormatItem::ExplicitLabels,
        ];
        assert_eq!(excel_kind(&items), Some(Kind::Biff));
        let (f, issues) = excel_format(&items, Kind::Biff);
        assert_eq!(f.labels, Labels::Embedded);
        assert_eq!(f.header_rows, 3);
        assert_eq!(f.sheet.as_deref(), Some("Sheet1$"));
        assert_eq!(
            issues,
            [
                FormatIssue::Ignored(String::from("codepage is 1252")),
                FormatIssue::Unsupported(String::from("delimiter is")),
                FormatIssue::Unsupported(String::from("filters(…)")),
                FormatIssue::ExplicitLabels,
            ]
        );
        assert_eq!(excel_kind(&[FormatItem::Txt]), None);
    }

    #[test]
    fn files_that_are_not_workbooks_are_errors() {
        let dir = std::env::temp_dir().join(format!("sa-excel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fake.xlsx");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        for kind in [Kind::Ooxml, Kind::Biff] {
            let f = ExcelFormat {
                kind,
                ..fmt(Labels::Embedded, 0)
            };
            let err = read_sheet(&path, &f, None, None, &dates).unwrap_err();
            assert!(matches!(err, ExcelError::Open { .. }), "{err:?}");
            assert!(
                err.message("fake.xlsx")
                    .starts_with("cannot read `fake.xlsx` as")
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
