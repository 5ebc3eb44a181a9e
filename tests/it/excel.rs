//! Excel sources on real workbooks (`../shared/corpus/excel`): the
//! airports workbook equals its CSV twin, and every sheet of every corpus
//! workbook loads. Skipped with a note when `../shared` is absent.

use std::path::{Path, PathBuf};

use calamine::{Reader, open_workbook_auto};
use section_access::load::{App, LoadOptions, run_source};

use crate::common::table_texts;

fn corpus(test: &str) -> Option<PathBuf> {
    crate::common::shared("corpus/excel", test)
}

/// Runs `script` with `lib://corpus/` mapped to the corpus folder.
fn run(dir: &Path, script: &str) -> App {
    let mut opts = LoadOptions::default();
    opts.libs.insert(String::from("corpus"), dir.to_path_buf());
    let path = crate::common::root().join("excel-test.qvs");
    run_source(&path, script, &opts).unwrap_or_else(|e| panic!("{e}\n{script}"))
}

#[test]
fn airports_workbook_equals_its_csv_twin() {
    let Some(dir) = corpus("airports_workbook_equals_its_csv_twin") else {
        return;
    };
    let xlsx = run(
        &dir,
        "Airports: LOAD * FROM [lib://corpus/qlikoss__airports.xlsx] (ooxml, embedded labels, table is Airports);",
    );
    let csv = run(
        &dir,
        "Airports: LOAD * FROM [lib://corpus/qlikoss__airports.csv] (txt, utf8, embedded labels, delimiter is ',', msq);",
    );
    let (xf, xr) = table_texts(&xlsx.data, "Airports");
    let (cf, cr) = table_texts(&csv.data, "Airports");
    assert_eq!(xf, cf);
    assert_eq!(xr.len(), cr.len());
    assert_eq!(xr.len(), 8097);
    let mut empty_as_null = 0;
    let mut mojibake = 0;
    for (r, (x, c)) in xr.iter().zip(&cr).enumerate() {
        for (f, (xv, cv)) in x.iter().zip(c).enumerate() {
            match (xv, cv) {
                (Some(a), Some(b)) if a == b => {}
                // The workbook's own data differs in a few names: whoever
                // made it read the UTF-8 CSV as Windows-1252 (`Ulꩠ` became
                // `Ulê©\u{a0}`). The reader gives the workbook's text.
                (Some(a), Some(b)) if *a == latin1_of_utf8(b) => mojibake += 1,
                (Some(a), Some(b)) => panic!("row {} field {}: {a:?} vs {b:?}", r + 1, xf[f]),
                // The one justified difference: an empty cell is NULL in a
                // workbook (a [HYP] rule, noted in the output) and an empty
                // string in a text file, where Qlik never makes NULL.
                (None, Some(b)) if b.is_empty() => empty_as_null += 1,
                _ => panic!("row {} field {}: {xv:?} vs {cv:?}", r + 1, xf[f]),
            }
        }
    }
    // The numbers Excel stores as numbers (rowID, altitude, time zone …)
    // show in Qlik's default format, which gives the CSV's text back; the
    // coordinates are text cells in this workbook and compare as typed.
    // No cell of this workbook is empty: the CSV's empty cells are
    // empty text cells there too, so no NULL and no note.
    assert_eq!(empty_as_null, 0);
    assert_eq!(mojibake, 84, "cells that differ by encoding");
    let codes: Vec<&str> = xlsx.warnings.iter().map(|w| w.code).collect();
    assert!(codes.is_empty(), "{codes:?}");
}

/// UTF-8 text's bytes read as Windows-1252.
fn latin1_of_utf8(s: &str) -> String {
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(s.as_bytes())
        .0
        .into_owned()
}

/// Every sheet of every corpus workbook, as calamine lists them.
fn sheets(dir: &Path) -> Vec<(String, String, usize)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "xls" || e == "xlsx" || e == "xlsm")
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let Ok(mut book) = open_workbook_auto(&f) else {
            // Not a workbook (see below).
            continue;
        };
        for name in book.sheet_names() {
            let range = book.worksheet_range(&name).unwrap();
            let file = f.file_name().unwrap().to_string_lossy().into_owned();
            out.push((file, name, range.height()));
        }
    }
    out
}

#[test]
fn every_sheet_of_every_corpus_workbook_loads() {
    let Some(dir) = corpus("every_sheet_of_every_corpus_workbook_loads") else {
        return;
    };
    let all = sheets(&dir);
    assert!(all.len() >= 3);
    for (file, sheet, height) in all {
        // `.xls` scripts name sheets as Jet did: `Sheet1$`.
        let (kind, table) = if file.ends_with(".xls") {
            ("biff", format!("{sheet}$"))
        } else {
            ("ooxml", sheet.clone())
        };
        let script = format!(
            "T: LOAD * FROM [lib://corpus/{file}] ({kind}, embedded labels, table is [{table}]);"
        );
        let app = run(&dir, &script);
        let rows = app.data.table("T").map_or(0, |t| t.len());
        // Every row under the labels row (an empty sheet loads no table).
        assert_eq!(rows, height.saturating_sub(1), "{file} {sheet}");
        // Nothing unsupported was skipped.
        assert!(!app.approximate, "{file} {sheet}");
    }
}

#[test]
fn measurements_dates_are_duals_in_the_scripts_format() {
    let Some(dir) = corpus("measurements_dates_are_duals_in_the_scripts_format") else {
        return;
    };
    let app = run(
        &dir,
        "SET DateFormat='DD.MM.YYYY';\n\
         M: LOAD Date, Date + 1 as Next, feature FROM [lib://corpus/sublibra__measurements.xlsx] (ooxml, embedded labels, table is data);",
    );
    let (fields, rows) = table_texts(&app.data, "M");
    assert_eq!(fields, ["Date", "Next", "feature"]);
    // 2019-04-29 is day 43584; its text follows DateFormat.
    assert_eq!(rows[0][0].as_deref(), Some("29.04.2019"));
    assert_eq!(rows[0][1].as_deref(), Some("43585"));
    // 30 % is the number 0.3, shown in Qlik's default format.
    assert_eq!(rows[0][2].as_deref(), Some("0.3"));
    let codes: Vec<&str> = app.warnings.iter().map(|w| w.code).collect();
    assert!(codes.contains(&"excel-date-text"), "{codes:?}");
}

#[test]
fn a_text_file_named_xls_is_a_located_error_as_biff_and_loads_as_text() {
    let Some(dir) = corpus("a_text_file_named_xls_is_a_located_error_as_biff_and_loads_as_text")
    else {
        return;
    };
    // `evandycke__KPI_Def.xls` is tab-separated text under an `.xls` name
    // (its original name was `KPI_Def.full_usage.txt.xls`): no BIFF inside.
    let mut opts = LoadOptions::default();
    opts.libs.insert(String::from("corpus"), dir.clone());
    let path = crate::common::root().join("excel-test.qvs");
    for script in [
        "T: LOAD * FROM [lib://corpus/evandycke__KPI_Def.xls] (biff, embedded labels, table is Sheet1$);",
        // The extension alone means `biff`, as in Qlik.
        "T: LOAD * FROM [lib://corpus/evandycke__KPI_Def.xls];",
    ] {
        let err = run_source(&path, script, &opts).expect_err(script);
        assert_eq!(err.code(), "load::missing-file");
        let message = err.to_string();
        assert!(
            message.starts_with(
                "cannot read `evandycke__KPI_Def.xls` as an Excel 97-2003 workbook (`biff`):"
            ),
            "{message}"
        );
        assert_eq!(err.location().line, 1);
        assert_eq!(err.location().column, 17);
    }
    let app = run(
        &dir,
        "T: LOAD USAGE, NAME FROM [lib://corpus/evandycke__KPI_Def.xls] (txt, embedded labels, delimiter is '\\t');",
    );
    let (fields, rows) = table_texts(&app.data, "T");
    assert_eq!(fields, ["USAGE", "NAME"]);
    assert!(rows.len() > 5);
}

#[test]
fn damaged_workbooks_are_errors_or_tables_never_panics() {
    // Truncated and byte-flipped copies of the fixture workbooks: each
    // load either reads a table or fails with a located error.
    let dir = std::env::temp_dir().join(format!("sa-excel-damaged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sources = [
        (
            "fixtures/scripts/run/excel-xls/legacy.xls",
            "biff",
            "Sheet1$",
        ),
        (
            "fixtures/scripts/run/excel-cells/cells.xlsx",
            "ooxml",
            "Cells",
        ),
    ];
    let opts = LoadOptions::default();
    let mut errors = 0;
    for (src, kind, sheet) in sources {
        let bytes = std::fs::read(crate::common::root().join(src)).unwrap();
        let ext = if kind == "biff" { "xls" } else { "xlsx" };
        let mut variants: Vec<Vec<u8>> = [0, 1, 7, 100, 511, 512, 1024]
            .iter()
            .chain(&[bytes.len() / 2, bytes.len() - 1])
            .map(|&n| bytes[..n.min(bytes.len())].to_vec())
            .collect();
        for step in [3usize, 97, 511, 1021] {
            let mut flipped = bytes.clone();
            for i in (step..flipped.len()).step_by(step * 2) {
                flipped[i] ^= 0x5a;
            }
            variants.push(flipped);
        }
        for (i, v) in variants.iter().enumerate() {
            let path = dir.join(format!("book{i}.{ext}"));
            std::fs::write(&path, v).unwrap();
            let script = format!(
                "T: LOAD * FROM [{}] ({kind}, embedded labels, table is [{sheet}]);",
                path.display()
            );
            if let Err(e) = run_source(&dir.join("s.qvs"), &script, &opts) {
                assert_eq!(e.location().line, 1, "{e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
