//! `STORE` end to end: a QVD written by `--write-stores` reads in an
//! independent reader (openqvd) exactly as the table was, and loads back
//! through ours; the CLI flag writes where the script says and nothing is
//! written without it.

use std::path::{Path, PathBuf};

use section_access::load::{App, LoadOptions, run_source};
use section_access::model::{SymbolId, Value};

use crate::common::{run, text};

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sa-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A table with every kind of value Qlik stores: integers, decimals,
/// text of digits, duals whose text is not the number's, NULLs, empty and
/// non-ASCII text.
const SCRIPT: &str = r#"
Orders:
LOAD
    OrderId,
    Customer,
    If(Amount = '', Null(), Amount) as Amount,
    Dual(Code, Num) as Coded,
    Text(Zip) as Zip
INLINE [
OrderId, Customer, Amount, Code, Num, Zip
1, Anna, 10.50, one, 1, 00123
2, Åsa Öberg, 20, two, 2, 99
3, , , three, 3.5, 0
4, Anna, -7, four, 4, 00123
];
STORE Orders INTO [out/orders.qvd];
STORE OrderId, Customer as Name FROM Orders INTO [out/names.qvd] (qvd);
"#;

fn load(dir: &Path, script: &str, write_stores: bool) -> App {
    let opts = LoadOptions {
        write_stores,
        ..LoadOptions::default()
    };
    run_source(&dir.join("app.qvs"), script, &opts).unwrap()
}

/// A cell as openqvd reads it: NULL, or its text and number (bits).
fn oracle(cell: &Option<openqvd::Value>) -> Option<(Option<String>, Option<u64>)> {
    use openqvd::Value as O;
    Some(match cell.as_ref()? {
        O::Int(i) => (None, Some(f64::from(*i).to_bits())),
        O::Float(f) => (None, Some(f.to_bits())),
        O::Str(s) => (Some(s.clone()), None),
        O::DualInt(d) => (Some(d.text.clone()), Some(f64::from(d.number).to_bits())),
        O::DualFloat(d) => (Some(d.text.clone()), Some(d.number.to_bits())),
    })
}

/// A cell of ours in the same terms (a pure number has no text stored).
fn ours(v: &Value) -> Option<(Option<String>, Option<u64>)> {
    match v {
        Value::Null => None,
        Value::Num(n) => Some((None, Some(n.to_bits()))),
        Value::Text(t) => Some((Some(t.to_string()), None)),
        Value::Dual(n, t) => Some((Some(t.to_string()), Some(n.to_bits()))),
    }
}

#[test]
fn a_stored_qvd_reads_in_openqvd_as_the_table_was() {
    let dir = scratch("oracle");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let app = load(&dir, SCRIPT, true);
    let m = &app.data;
    let t = m.table("Orders").unwrap();
    let qvd = openqvd::Qvd::from_path(dir.join("out/orders.qvd")).unwrap();
    let names: Vec<&str> = qvd.fields().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        ["OrderId", "Customer", "Amount", "Coded", "Zip"],
        "fields in the table's order"
    );
    assert_eq!(qvd.num_rows() as usize, t.len());
    for (r, row) in qvd.checked_rows().enumerate() {
        let row = row.unwrap();
        for (c, cell) in t.columns().iter().zip(&row) {
            let v = match c.ids[r] {
                SymbolId::NULL => Value::Null,
                id => m.value(c.field, id).unwrap(),
            };
            assert_eq!(
                oracle(cell),
                ours(&v),
                "row {r}, {:?}",
                m.field_name(c.field)
            );
        }
    }
    // The field list with an alias.
    let names = openqvd::Qvd::from_path(dir.join("out/names.qvd")).unwrap();
    let fields: Vec<&str> = names.fields().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(fields, ["OrderId", "Name"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stored_qvd_loads_back_the_same_in_the_same_run_and_the_next() {
    let dir = scratch("back");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let back = "\nBack: NOCONCATENATE LOAD * FROM [out/orders.qvd] (qvd);\n\
                Records: LOAD QvdNoOfRecords('out/orders.qvd') as N, QvdTableName('out/orders.qvd') as Name AUTOGENERATE 1;\n";
    // Kept in the overlay: nothing on disk.
    let kept = load(&dir, &format!("{SCRIPT}{back}"), false);
    assert!(!dir.join("out/orders.qvd").exists());
    assert!(kept.warnings.iter().any(|w| w.code == "store-kept"));
    type Cell = Option<(String, Option<u64>)>;
    let rows = |app: &App, name: &str| -> Vec<Vec<Cell>> {
        let m = &app.data;
        let t = m.table(name).unwrap();
        (0..t.len())
            .map(|r| {
                t.columns()
                    .iter()
                    .map(|c| match c.ids[r] {
                        SymbolId::NULL => None,
                        id => {
                            let v = m.value(c.field, id).unwrap();
                            Some((v.text().into_owned(), v.num().map(f64::to_bits)))
                        }
                    })
                    .collect()
            })
            .collect()
    };
    assert_eq!(rows(&kept, "Back"), rows(&kept, "Orders"));
    let records = rows(&kept, "Records");
    assert_eq!(records[0][0].as_ref().unwrap().0, "4");
    assert_eq!(records[0][1].as_ref().unwrap().0, "Orders");
    // Written, then read by a later run.
    let written = load(&dir, SCRIPT, true);
    assert!(dir.join("out/orders.qvd").exists());
    let next = load(&dir, back, false);
    assert_eq!(rows(&next, "Back"), rows(&written, "Orders"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn write_stores_is_a_command_line_option() {
    let dir = scratch("cli");
    let script = dir.join("app.qvs");
    std::fs::write(
        &script,
        "T:\nLOAD * INLINE [\nA\n1\n2\n];\nSTORE T INTO t.csv (txt);\n",
    )
    .unwrap();
    let kept = run(&["check", script.to_str().unwrap(), "--format", "json"]);
    assert_eq!(kept.status.code(), Some(0), "{}", text(&kept.stderr));
    assert!(!dir.join("t.csv").exists());
    assert!(text(&kept.stdout).contains("store-kept"));
    let written = run(&["check", script.to_str().unwrap(), "--write-stores"]);
    assert_eq!(written.status.code(), Some(0), "{}", text(&written.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.join("t.csv")).unwrap(),
        "\u{feff}A\r\n1\r\n2\r\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
