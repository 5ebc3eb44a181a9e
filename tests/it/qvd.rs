//! QVD files written by Qlik (`../shared/corpus/qvd`, skipped without it):
//! each loads, and equals what its twin says — the CSV file of the same
//! table, the INLINE script that made it, or its header kept as `.xml`; the
//! empty one is its fields without rows; the damaged one is a located error.

use std::path::{Path, PathBuf};

use section_access::load::{App, LoadOptions, run_source};
use section_access::model::Value;

use crate::common::{shared, table};

fn corpus(test: &str) -> Option<PathBuf> {
    shared("corpus/qvd", test)
}

/// Runs `script` as if it were a file in `dir`.
fn run(dir: &Path, script: &str) -> App {
    let path = dir.join("generated.qvs");
    match run_source(&path, script, &LoadOptions::default()) {
        Ok(app) => app,
        Err(e) => panic!("{script}: {e} at {}", e.location()),
    }
}

/// How a value compares: its text, its number (bits), NULL apart.
fn key(v: &Value) -> (bool, String, Option<u64>) {
    (
        v.is_null(),
        v.text().into_owned(),
        v.num().map(f64::to_bits),
    )
}

/// Why a cell of a QVD may differ from its CSV twin, known and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Known {
    /// The CSV cell has spaces around it, unquoted; the QVD (written by
    /// Qlik from the same data) has the text without them. Our delimited
    /// reader keeps such spaces: a difference of the CSV reader, not of
    /// the QVD reader.
    Spaces,
    /// Qlik read the CSV's `YYYY-MM-DD` dates as dates (a dual of the day
    /// serial and the text) with the app's `DateFormat`; loading the CSV
    /// here keeps them as text. The texts are compared; a CSV twin cannot
    /// say the number.
    DateText,
    /// Same text, numbers one unit in the last place apart: Qlik's parser
    /// read `6.551188676404236` as 6.5511886764042355, not the nearest
    /// double. The QVD holds Qlik's number, the CSV ours.
    LastBit,
}

/// Why `q` (from the QVD) and `c` (from the CSV) differ, when known.
fn known(q: &Value, c: &Value) -> Option<Known> {
    match (q, c) {
        (Value::Text(a), Value::Text(b)) if b.trim_matches(' ') == &**a => Some(Known::Spaces),
        (Value::Dual(_, a), Value::Text(b)) if a == b => Some(Known::DateText),
        _ => match (q.num(), c.num()) {
            (Some(x), Some(y))
                if q.text() == c.text() && x.to_bits().abs_diff(y.to_bits()) == 1 =>
            {
                Some(Known::LastBit)
            }
            _ => None,
        },
    }
}

/// The known differences between a QVD's table and its twin's, counted by
/// kind and field; the unknown ones (at most 20) as lines.
fn differences(
    q: &(Vec<String>, Vec<Vec<Value>>),
    c: &(Vec<String>, Vec<Vec<Value>>),
) -> (Vec<(Known, String, usize)>, Vec<String>) {
    let mut counts: std::collections::BTreeMap<(Known, String), usize> = Default::default();
    let mut unknown = Vec::new();
    if q.0 != c.0 {
        unknown.push(format!("fields {:?} / {:?}", q.0, c.0));
    } else if q.1.len() != c.1.len() {
        unknown.push(format!("rows {} / {}", q.1.len(), c.1.len()));
    } else {
        for (r, (rq, rc)) in q.1.iter().zip(&c.1).enumerate() {
            for (f, (vq, vc)) in rq.iter().zip(rc).enumerate() {
                if key(vq) == key(vc) {
                    continue;
                }
                match known(vq, vc) {
                    Some(k) => *counts.entry((k, q.0[f].clone())).or_default() += 1,
                    None if unknown.len() < 20 => {
                        unknown.push(format!("row {} field {}: {vq:?} / {vc:?}", r + 1, q.0[f]));
                    }
                    None => {}
                }
            }
        }
    }
    let counts = counts.into_iter().map(|((k, f), n)| (k, f, n)).collect();
    (counts, unknown)
}

/// Every known difference of the corpus, by file, kind and field.
fn expected_differences(file: &str) -> Vec<(Known, String, usize)> {
    let d = |k, f: &str, n| (k, f.to_string(), n);
    match file {
        "ctrlq__lego__parts.qvd" => vec![d(Known::Spaces, "name", 160)],
        "ctrlq__lego__sets.qvd" => vec![d(Known::Spaces, "name", 15)],
        "qvdutils__AAPL.qvd" => vec![
            d(Known::DateText, "Date", 2746),
            d(Known::LastBit, "Open", 13),
            d(Known::LastBit, "High", 16),
            d(Known::LastBit, "Low", 16),
        ],
        _ => vec![],
    }
}

#[test]
fn every_qvd_with_a_csv_twin_equals_it() {
    let Some(dir) = corpus("every_qvd_with_a_csv_twin_equals_it") else {
        return;
    };
    let mut twins: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    twins.sort();
    assert!(twins.len() >= 8, "{twins:?}");
    let mut report = Vec::new();
    for csv in twins {
        let qvd = csv.with_extension("qvd");
        let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
        let from_qvd = run(&dir, &format!("T: LOAD * FROM [{}] (qvd);", name(&qvd)));
        // The twins are comma-separated with double quotes doubled inside
        // quoted cells.
        let from_csv = run(
            &dir,
            &format!(
                "T: LOAD * FROM [{}] (txt, utf8, embedded labels, delimiter is ',', msq);",
                name(&csv)
            ),
        );
        let (mut counts, unknown) =
            differences(&table(&from_qvd.data, "T"), &table(&from_csv.data, "T"));
        let mut expected = expected_differences(&name(&qvd));
        counts.sort();
        expected.sort();
        if !unknown.is_empty() || counts != expected {
            report.push(format!(
                "{}: known differences {counts:?}, expected {expected:?}\n  {}",
                name(&qvd),
                unknown.join("\n  ")
            ));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn the_qvd_made_by_an_inline_script_equals_what_the_script_loads() {
    let Some(dir) = corpus("the_qvd_made_by_an_inline_script_equals_what_the_script_loads") else {
        return;
    };
    // The script that stored qvdlib__Test.qvd, without its STORE.
    let script: String = std::fs::read_to_string(dir.join("qvdlib__Test.qvs"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("STORE"))
        .map(|l| format!("{l}\n"))
        .collect();
    let made = run(&dir, &script);
    let read = run(&dir, "Test: LOAD * FROM [qvdlib__Test.qvd] (qvd);");
    let (made, read) = (table(&made.data, "Test"), table(&read.data, "Test"));
    // `num#('1,1')` under `SET DecimalSep=','` is 1.1 in Qlik; this tool's
    // `Num#` does not follow DecimalSep yet and gives NULL, so the script's
    // DualDoubleColumn is compared with the numbers Qlik stored instead.
    let mut expected = made.clone();
    for (row, n) in expected.1.iter_mut().zip([1.1, 2.2]) {
        if let Value::Text(t) = &row[0] {
            row[2] = Value::Dual(n, t.clone());
        }
    }
    let (counts, unknown) = differences(&read, &expected);
    assert!(
        counts.is_empty() && unknown.is_empty(),
        "{counts:?} {unknown:?}"
    );
    // Duals keep their stored text: `Dual(StringColumn, IntColumn)`.
    assert_eq!(read.1[0][1].text(), "A");
    assert_eq!(read.1[0][1].num(), Some(1.0));
    assert!(read.1[2].iter().all(Value::is_null));
}

#[test]
fn qlikview_qvds_have_the_fields_of_their_xml_headers() {
    let Some(dir) = corpus("qlikview_qvds_have_the_fields_of_their_xml_headers") else {
        return;
    };
    for name in ["qvdfile__tab1", "qvdfile__tab2"] {
        let xml = std::fs::read_to_string(dir.join(format!("{name}.xml"))).unwrap();
        let between = |open: &str, close: &str| -> Vec<String> {
            xml.split(open)
                .skip(1)
                .map(|p| p.split(close).next().unwrap().to_string())
                .collect()
        };
        let fields = between("<FieldName>", "</FieldName>");
        let records: usize = between("<NoOfRecords>", "</NoOfRecords>")[0]
            .parse()
            .unwrap();
        let app = run(&dir, &format!("T: LOAD * FROM [{name}.qvd] (qvd);"));
        let (got_fields, rows) = table(&app.data, "T");
        assert_eq!(got_fields, fields, "{name}");
        assert_eq!(rows.len(), records, "{name}");
    }
}

#[test]
fn every_qvd_of_the_corpus_loads_whole_and_by_its_header() {
    let Some(dir) = corpus("every_qvd_of_the_corpus_loads_whole_and_by_its_header") else {
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".qvd") && n != "qvd4js__damaged.qvd")
        .collect();
    files.sort();
    assert!(files.len() >= 18, "{files:?}");
    for f in files {
        let app = run(
            &dir,
            &format!(
                "T: LOAD * FROM [{f}] (qvd);\n\
                 LET vRecords = QvdNoOfRecords('{f}');\n\
                 LET vFields = QvdNoOfFields('{f}');\n\
                 LET vFirst = QvdFieldName('{f}', 1);\n\
                 LET vTable = QvdTableName('{f}');"
            ),
        );
        let (fields, rows) = table(&app.data, "T");
        assert_eq!(app.variables["vRecords"], rows.len().to_string(), "{f}");
        assert_eq!(app.variables["vFields"], fields.len().to_string(), "{f}");
        assert_eq!(app.variables["vFirst"], fields[0], "{f}");
        assert!(!app.variables["vTable"].is_empty(), "{f}");
        // Dates stored as bare day numbers (from a database) under a
        // TIMESTAMP format: Qlik shows them formatted; this tool says so.
        let formatted: Vec<&str> = app
            .warnings
            .iter()
            .filter(|w| w.code == "qvd-number-format")
            .map(|w| w.message.as_str())
            .collect();
        if f == "qvd4js__large.qvd" {
            assert!(
                formatted
                    .iter()
                    .any(|m| m.contains("`OrderDate`") && m.contains("TIMESTAMP"))
            );
        }
        if f.starts_with("ctrlq__") {
            assert!(formatted.is_empty(), "{f}: {formatted:?}");
        }
    }
}

#[test]
fn the_empty_qvd_is_its_fields_without_rows() {
    let Some(dir) = corpus("the_empty_qvd_is_its_fields_without_rows") else {
        return;
    };
    let app = run(&dir, "T: LOAD * FROM [qvd4js__empty_qvd.qvd] (qvd);");
    let (fields, rows) = table(&app.data, "T");
    assert_eq!(fields, ["Country", "Year", "Sales"]);
    assert!(rows.is_empty());
}

#[test]
fn the_damaged_qvd_is_a_located_error() {
    let Some(dir) = corpus("the_damaged_qvd_is_a_located_error") else {
        return;
    };
    let script = "// damaged\nT: LOAD ProductName\n   FROM [qvd4js__damaged.qvd] (qvd);";
    let e = run_source(&dir.join("generated.qvs"), script, &LoadOptions::default()).unwrap_err();
    assert_eq!(e.code(), "load::bad-file");
    assert_eq!((e.location().line, e.location().column), (3, 10));
    // Its header lost its first lines: it starts inside a field's header.
    assert!(
        e.to_string()
            .contains("the header's root element is `<Thou>`"),
        "{e}"
    );
    // The header functions refuse it too, rather than guess.
    let e = run_source(
        &dir.join("generated.qvs"),
        "LET n = QvdNoOfRecords('qvd4js__damaged.qvd');",
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "load::bad-file");
}

#[test]
fn a_load_of_some_fields_with_expressions_and_where_is_the_unoptimised_load() {
    let Some(dir) =
        corpus("a_load_of_some_fields_with_expressions_and_where_is_the_unoptimised_load")
    else {
        return;
    };
    let script = |ext: &str, format: &str| {
        format!(
            "Colors: LOAD id, Upper(name) AS NAME, rgb & '!' AS rgb FROM [ctrlq__lego__colors.{ext}] {format}\n\
             WHERE is_trans = 't' AND id > 40;"
        )
    };
    let q = run(&dir, &script("qvd", "(qvd)"));
    let c = run(
        &dir,
        &script("csv", "(txt, embedded labels, delimiter is ',')"),
    );
    let (q, c) = (table(&q.data, "Colors"), table(&c.data, "Colors"));
    assert!(!q.1.is_empty());
    let (counts, unknown) = differences(&q, &c);
    assert!(
        counts.is_empty() && unknown.is_empty(),
        "{counts:?} {unknown:?}"
    );
}

/// What an independent reader's cell says a value of ours must be: NULL,
/// a pure number (its bits), a pure text, or a dual (text and bits).
fn oracle_key(cell: &Option<openqvd::Value>) -> (bool, Option<String>, Option<u64>) {
    use openqvd::Value as O;
    match cell {
        None => (true, None, None),
        Some(O::Int(i)) => (false, None, Some(f64::from(*i).to_bits())),
        Some(O::Float(f)) => (false, None, Some(f.to_bits())),
        Some(O::Str(s)) => (false, Some(s.clone()), None),
        Some(O::DualInt(d)) => (
            false,
            Some(d.text.clone()),
            Some(f64::from(d.number).to_bits()),
        ),
        Some(O::DualFloat(d)) => (false, Some(d.text.clone()), Some(d.number.to_bits())),
    }
}

/// Ours in the same terms: pure numbers have no text to compare (they show
/// in the default format), and a dual whose text is what the number shows
/// as anyway is kept as the number (its text then compared as shown).
fn our_key(v: &Value, oracle_has_text: bool) -> (bool, Option<String>, Option<u64>) {
    match v {
        Value::Null => (true, None, None),
        Value::Num(n) if !oracle_has_text => (false, None, Some(n.to_bits())),
        Value::Num(n) => (false, Some(v.text().into_owned()), Some(n.to_bits())),
        Value::Text(t) => (false, Some(t.to_string()), None),
        Value::Dual(n, t) => (false, Some(t.to_string()), Some(n.to_bits())),
    }
}

#[test]
fn every_corpus_qvd_reads_as_openqvd_reads_it() {
    let Some(dir) = corpus("every_corpus_qvd_reads_as_openqvd_reads_it") else {
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".qvd"))
        .collect();
    files.sort();
    let mut report = Vec::new();
    for f in files {
        let oracle = openqvd::Qvd::from_path(dir.join(&f));
        if f == "qvd4js__damaged.qvd" {
            // Both readers refuse it.
            assert!(oracle.is_err());
            continue;
        }
        let oracle = oracle.unwrap();
        let app = run(&dir, &format!("T: LOAD * FROM [{f}] (qvd);"));
        let (fields, rows) = table(&app.data, "T");
        let names: Vec<&str> = oracle.fields().iter().map(|h| h.name.as_str()).collect();
        assert_eq!(fields, names, "{f}");
        assert_eq!(rows.len(), oracle.num_rows() as usize, "{f}");
        let mut bad = 0;
        for (r, (ours, theirs)) in rows.iter().zip(oracle.checked_rows()).enumerate() {
            let theirs = theirs.unwrap();
            for (c, (v, cell)) in ours.iter().zip(&theirs).enumerate() {
                let want = oracle_key(cell);
                if our_key(v, want.1.is_some()) != want && bad < 5 {
                    bad += 1;
                    report.push(format!(
                        "{f} row {} field {}: {v:?} / {cell:?}",
                        r + 1,
                        fields[c]
                    ));
                }
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn a_qvd_reads_the_same_in_a_pool_of_one_and_of_four_threads() {
    let Some(dir) = corpus("a_qvd_reads_the_same_in_a_pool_of_one_and_of_four_threads") else {
        return;
    };
    // 580,251 rows of 6 bytes: several chunks of rows, five columns side
    // by side.
    let script = "T: LOAD * FROM [ctrlq__lego__inventory_parts.qvd] (qvd);";
    let at = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let app = run(&dir, script);
            let (fields, rows) = table(&app.data, "T");
            let keys: Vec<Vec<_>> = rows.iter().map(|r| r.iter().map(key).collect()).collect();
            (fields, keys)
        })
    };
    let one = at(1);
    assert_eq!(one.1.len(), 580_251);
    assert!(at(4) == one);
}
