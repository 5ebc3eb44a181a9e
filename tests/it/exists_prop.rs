//! `WHERE [NOT] Exists(F[, G])` on a load of plain fields runs on symbol
//! ids; the same condition written so the row path evaluates it (`AND 1 =
//! 1`) must give the same tables, for random keys, NULLs, duplicates and
//! renames.

use proptest::prelude::*;
use section_access::load::{LoadOptions, run_source};
use section_access::model::Model;

/// A table as its name, fields and rows of texts (NULL as `None`).
type Dumped = (String, Vec<String>, Vec<Vec<Option<String>>>);

/// Every table of the data model as text rows.
fn dump(m: &Model) -> Vec<Dumped> {
    m.tables()
        .iter()
        .map(|t| {
            let name = t.name.as_str().to_string();
            let (fields, rows) = crate::common::table_texts(m, &name);
            (name, fields, rows)
        })
        .collect()
}

fn inline(header: &str, rows: &[(u8, u8)]) -> String {
    let mut s = format!("{header}\n");
    for (k, v) in rows {
        // Key 0 stands for NULL: the loads below map it with `If`.
        s.push_str(&format!("{k},{v}\n"));
    }
    s
}

/// A script whose second load filters with `cond` (`{}` is where the
/// extra `AND 1 = 1` goes).
fn script(model: &[(u8, u8)], data: &[(u8, u8)], fields: &str, cond: &str, slow: bool) -> String {
    let cond = cond.replace("{}", if slow { " AND 1 = 1" } else { "" });
    format!(
        "A: LOAD If(K = 0, Null(), K) AS K, V AS AV INLINE [\n{}];\n\
         Src: NOCONCATENATE LOAD If(K = 0, Null(), K) AS K, K AS K2, V INLINE [\n{}];\n\
         B: NOCONCATENATE LOAD {fields} RESIDENT Src WHERE {cond};\n\
         DROP TABLE Src;\n",
        inline("K,V", model),
        inline("K,V", data)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn exists_on_ids_is_the_row_path(
        model in proptest::collection::vec((0u8..6, 0u8..4), 0..8),
        data in proptest::collection::vec((0u8..9, 0u8..4), 0..24),
        form in 0usize..11,
    ) {
        let (fields, cond) = [
            ("K, V", "Exists(K){}"),
            ("K, V", "NOT Exists(K){}"),
            ("DISTINCT K", "NOT Exists(K){}"),
            ("K2 AS K, V", "NOT Exists(K, K2){}"),
            ("K2 AS Other, V", "NOT Exists(K, K2){}"),
            ("V, K", "Exists('K', K){}"),
            ("K AS New, V", "NOT Exists(New, K){}"),
            // An expression of one column tested; fields computed per value.
            ("K2 AS Other, V", "NOT Exists(K, K2 + 1){}"),
            ("V * 2 AS W, K2", "Exists(K, Alt(K2 - 1, 3)){}"),
            ("Upper(K) AS K, V", "NOT Exists(K){}"),
            // Row numbers: the row path.
            ("K, RecNo() AS R", "Exists(K){}"),
        ][form];
        let run = |slow| {
            let text = script(&model, &data, fields, cond, slow);
            let app = run_source(std::path::Path::new("prop.qvs"), &text, &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{text}\n{e}"));
            dump(&app.data)
        };
        prop_assert_eq!(run(false), run(true));
    }
}
