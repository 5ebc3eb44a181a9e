//! Symbol tables against a naive reference: whatever storage a field's
//! values lead to (a run of consecutive integers, plain numbers, anything),
//! interning gives first-seen ids, equal values (by number, or by exact
//! text) share an id, and every id reads back as the first value interned.

use proptest::prelude::*;
use section_access::model::{Symbols, Value};

/// Cells as a loader reads them: runs of integers (keys), other integers,
/// decimals, numbers with their own text, and text.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0i64..40).prop_map(|n| n.to_string()),
        1 => (-3i64..3).prop_map(|n| n.to_string()),
        1 => (0u64..5).prop_map(|n| format!("{}", n + 4_294_967_290)),
        1 => (0i64..20).prop_map(|n| format!("{}.5", n)),
        2 => (0i64..400).prop_map(|n| format!("{}.{:02}", n / 100, n % 100)),
        1 => (0i64..400).prop_map(|n| format!("{}.{:03}", n / 1000, n % 1000)),
        1 => (0i64..20).prop_map(|n| format!("{n:03}")),
        1 => "[a-c]{0,2}",
        1 => Just(String::from("-0")),
        1 => Just(String::from("9007199254740993")),
    ]
}

/// Columns of text only (names, identity columns), sometimes followed by
/// numbers.
fn texts() -> impl Strategy<Value = Vec<String>> {
    (
        prop::collection::vec("[a-dé]{0,3}", 0..40),
        prop::collection::vec(cell(), 0..5),
    )
        .prop_map(|(t, rest)| t.into_iter().chain(rest).collect())
}

/// A column: a run of consecutive integers first (how keys arrive), then
/// anything.
fn column() -> impl Strategy<Value = Vec<String>> {
    (
        (-5i64..5),
        (0usize..30),
        prop::collection::vec(cell(), 0..60),
    )
        .prop_map(|(start, run, rest)| {
            (0..run)
                .map(|i| (start + i as i64).to_string())
                .chain(rest)
                .collect()
        })
}

/// The reference: a linear scan with Qlik's equality (numbers by value,
/// text exactly).
fn find(seen: &[Value], v: &Value) -> Option<usize> {
    seen.iter().position(|s| match (s.num(), v.num()) {
        (Some(a), Some(b)) => a == b,
        (None, None) => s.text() == v.text(),
        _ => false,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn symbols_agree_with_a_linear_scan(cells in prop_oneof![column(), texts()]) {
        let mut syms = Symbols::default();
        let mut seen: Vec<Value> = Vec::new();
        for text in &cells {
            let v = Value::from_text(text);
            let want = match find(&seen, &v) {
                Some(i) => i,
                None => {
                    seen.push(v.clone());
                    seen.len() - 1
                }
            };
            let plain = syms.find_plain(text.as_bytes());
            if let Some(id) = plain {
                prop_assert_eq!(Some(id.index()), find(&seen, &v), "find_plain({:?})", text);
            }
            let got = syms.intern_text(text);
            prop_assert_eq!(got.index(), want, "intern_text({:?})", text);
            prop_assert_eq!(syms.lookup(&v), Some(got));
            prop_assert_eq!(syms.intern(v), got);
        }
        prop_assert_eq!(syms.len(), seen.len());
        for (id, v) in syms.iter() {
            let first = &seen[id.index()];
            prop_assert_eq!(v.text(), first.text(), "text of id {:?}", id);
            prop_assert_eq!(syms.text(id), Some(first.text()), "borrowed text of id {:?}", id);
            prop_assert_eq!(v.num(), first.num(), "number of id {:?}", id);
        }
        // Every plain decimal the field holds is found by arithmetic once
        // its storage allows (a run, or numbers in direct tables).
        for text in &cells {
            if let Some(id) = syms.find_plain(text.as_bytes()) {
                prop_assert_eq!(Some(id), syms.lookup(&Value::from_text(text)), "{:?}", text);
            }
        }
        // Interning another table's symbols by id gives what interning
        // their values does.
        let mut by_id = Symbols::default();
        let mut by_value = Symbols::default();
        by_id.intern_text("x");
        by_value.intern_text("x");
        for (id, v) in syms.iter() {
            prop_assert_eq!(by_id.intern_from(&syms, id), by_value.intern(v));
        }
        prop_assert_eq!(by_id.len(), by_value.len());
        for (id, v) in by_value.iter() {
            let got = by_id.get(id).unwrap();
            prop_assert_eq!((got.text(), got.num()), (v.text(), v.num()), "id {:?}", id);
        }
        prop_assert_eq!(syms.lookup(&Value::text_only("zz")), None);
        prop_assert_eq!(syms.lookup(&Value::Num(1e300)), None);
    }
}
