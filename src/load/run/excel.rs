//! The runner's side of Excel loads (`FROM book.xlsx (ooxml, …)`): format
//! items, the sheet read by [`crate::load::excel`], date texts from the
//! script's formats, and the notes and errors a user sees.

use std::path::Path;

use crate::load::excel::{
    DateKind, ExcelError, FormatIssue, Inferred, Kind, excel_format, read_sheet,
};
use crate::load::expr::{Env as _, format_date, format_interval};
use crate::load::frame::Frame;
use crate::script::ast::{FormatItem, Load, Section};
use crate::script::source::{SharedText, Span};

use super::sources::needed_fields;
use super::{R, Runner};
use crate::load::error::{Fail, LoadErrorKind};

/// Qlik's default formats, when the script sets none.
const DATE_FORMAT: &str = "YYYY-MM-DD";
const TIME_FORMAT: &str = "hh:mm:ss";
const TIMESTAMP_FORMAT: &str = "YYYY-MM-DD hh:mm:ss[.fff]";

impl Runner<'_> {
    /// Loads a sheet of the workbook at `path`; `None` when skipped.
    pub(super) fn read_excel(
        &mut self,
        load: &Load,
        path: &str,
        path_span: Span,
        items: &[FormatItem],
        kind: Kind,
    ) -> R<Option<Frame>> {
        let (fmt, issues) = excel_format(items, kind);
        for issue in issues {
            match issue {
                FormatIssue::Unsupported(o) => {
                    self.unsupported(
                        path_span,
                        &format!("the file option `{o}` is not supported for Excel files"),
                    )?;
                    return Ok(None);
                }
                FormatIssue::Ignored(o) => self.warn(
                    "format-ignored",
                    format!("file option `{o}` ignored: it has no effect on Excel files"),
                    Some(path_span),
                ),
                FormatIssue::ExplicitLabels => self.note_once(
                    "excel-explicit-labels",
                    "`explicit labels` on an Excel file is read as `embedded labels`",
                    path_span,
                ),
            }
        }
        let Some(full) = self.locate_file(path, path_span)? else {
            return Ok(None);
        };
        let needed = needed_fields(load);
        // Rows of security tables point at their sheet row in the workbook
        // (line = 1-based Excel row). A workbook has no text to show, so
        // the source is registered with none: a row shows as `book.xlsx:7`.
        let origins = (self.section == Section::Access)
            .then(|| self.app.sources.add(full.clone(), SharedText::default()).0);
        let formats = [
            ("DateFormat", DATE_FORMAT),
            ("TimeFormat", TIME_FORMAT),
            ("TimestampFormat", TIMESTAMP_FORMAT),
        ]
        .map(|(var, default)| self.variable(var).unwrap_or(default).to_string());
        let [date_fmt, time_fmt, stamp_fmt] = &formats;
        let env: &dyn crate::load::expr::Env = &*self;
        let dates = |serial: f64, kind: DateKind| match kind {
            DateKind::Date => format_date(serial, date_fmt, env),
            DateKind::Time => format_date(serial, time_fmt, env),
            DateKind::Timestamp => format_date(serial, stamp_fmt, env),
            DateKind::Interval => format_interval(serial, time_fmt, env),
        };
        let read = read_sheet(&full, &fmt, needed.as_ref(), origins, &dates);
        let read = match read {
            Ok(r) => r,
            Err(e) => return Err(self.excel_error(&e, path, &full, path_span)),
        };
        if let Some(first) = read.errors.first() {
            let more = match read.errors.len() - 1 {
                0 => String::new(),
                1 => String::from(" and 1 more error cell"),
                n => format!(" and {n} more error cells"),
            };
            self.warn(
                "excel-error-cell",
                format!(
                    "error cell `{first}`{more} loaded as NULL (what Qlik loads is unverified)"
                ),
                Some(path_span),
            );
        }
        for i in &read.inferred {
            let (code, message) = match i {
                Inferred::EmptyIsNull => (
                    "excel-empty-null",
                    "empty Excel cells load as NULL (unverified against Qlik)".to_string(),
                ),
                Inferred::Booleans => (
                    "excel-boolean",
                    "Excel `TRUE`/`FALSE` cells load as the numbers -1 and 0 (unverified against Qlik)"
                        .to_string(),
                ),
                Inferred::DateText => (
                    "excel-date-text",
                    format!(
                        "Excel dates load as their day number with a text in `DateFormat` (`{date_fmt}`), `TimestampFormat` (`{stamp_fmt}`) or `TimeFormat` (`{time_fmt}`) (unverified against Qlik)"
                    ),
                ),
                Inferred::ColumnLetters => (
                    "excel-column-letters",
                    "Excel columns without a label are named by their column letter (`A`, `B`, …) (unverified against Qlik)"
                        .to_string(),
                ),
                Inferred::SheetCase => (
                    "excel-sheet-case",
                    format!(
                        "sheet found as `{}`: the names differ only in case (unverified against Qlik)",
                        read.sheet
                    ),
                ),
                Inferred::LeadingRows(n) => (
                    "excel-leading-rows",
                    format!(
                        "the first {n} row{} of sheet `{}` {} empty: its rows, and the lines `header is` skips, count from row {} (unverified against Qlik)",
                        if *n == 1 { "" } else { "s" },
                        read.sheet,
                        if *n == 1 { "is" } else { "are" },
                        n + 1
                    ),
                ),
            };
            if matches!(i, Inferred::LeadingRows(_)) {
                // Says where this sheet's rows start: for every load.
                self.warn(code, message, Some(path_span));
            } else {
                self.note_once(code, &message, path_span);
            }
        }
        Ok(Some(read.frame))
    }

    /// A warning for an inferred rule, the first time a run relies on it.
    pub(super) fn note_once(&mut self, code: &'static str, message: &str, span: Span) {
        if self.notes.borrow().contains(&code) {
            return;
        }
        self.note(code);
        self.warn(code, message.to_string(), Some(span));
    }

    /// A located error for a workbook that cannot be read.
    fn excel_error(
        &self,
        e: &ExcelError,
        path: &str,
        full: &Path,
        path_span: Span,
    ) -> crate::load::LoadError {
        let file = full
            .file_name()
            .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
        let (label, help) = match e {
            ExcelError::Open { kind, .. } => (
                "cannot read this workbook",
                match kind {
                    Kind::Biff => String::from(
                        "`biff` reads Excel 97-2003 `.xls` files: an `.xlsx` file needs `ooxml`, a text file `txt`",
                    ),
                    Kind::Ooxml => String::from(
                        "`ooxml` reads Excel 2007+ `.xlsx`/`.xlsm` files: an `.xls` file needs `biff`, a text file `txt`",
                    ),
                },
            ),
            ExcelError::NoSheet { .. } => (
                "no such sheet",
                String::from("`table is` names the sheet (a trailing `$` is ignored)"),
            ),
            ExcelError::NoSheets => (
                "no sheet",
                String::from("the workbook holds no sheet to load"),
            ),
            ExcelError::Sheet { .. } => (
                "cannot read this sheet",
                String::from("the sheet may be damaged; open and save it again in Excel"),
            ),
            ExcelError::RowPast(_) => (
                "too many rows",
                String::from("split the security table over several sheets"),
            ),
        };
        self.err(
            Fail::new(LoadErrorKind::MissingFile, path_span, e.message(&file))
                .label(label)
                .help(help),
        )
    }
}
