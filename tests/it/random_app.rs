//! Random apps for the exports' property tests: a security table over
//! fields A and B (values, `*`, blanks) with USERID and GROUP, and data
//! tables over random subsets of A–D, as the reducer's property test
//! builds them, with identities to ask about.

use proptest::prelude::*;

use section_access::names::{GroupName, Identity, UserId};

/// A random app: a security table over fields A and B (values, `*`,
/// blanks), and data tables over random subsets of A–D, as the reducer's
/// property test builds them.
/// A security row: ADMIN (else USER), user, group (3 = `*`), A, B (3 =
/// `*`, `None` = blank).
type SecurityRow = (bool, u8, u8, Option<u8>, Option<u8>);

/// A data table: field indices and rows of cells (`None` = NULL).
type DataTable = (Vec<usize>, Vec<Vec<Option<u8>>>);

#[derive(Clone, Debug)]
pub(crate) struct RandomApp {
    security: Vec<SecurityRow>,
    tables: Vec<DataTable>,
    identities: Vec<(u8, Vec<u8>)>,
}

pub(crate) fn random_app() -> impl Strategy<Value = RandomApp> {
    let cell = proptest::option::weighted(0.85, 0u8..3);
    let sec_row = (
        any::<bool>(),
        0u8..4,
        0u8..4,
        proptest::option::weighted(0.8, 0u8..4),
        proptest::option::weighted(0.7, 0u8..4),
    );
    let table = proptest::sample::subsequence((0..4usize).collect::<Vec<_>>(), 1..=3)
        .prop_flat_map(move |fields| {
            let n = fields.len();
            (
                Just(fields),
                proptest::collection::vec(proptest::collection::vec(cell.clone(), n), 0..6),
            )
        });
    (
        proptest::collection::vec(sec_row, 1..6),
        proptest::collection::vec(table, 1..=3),
        proptest::collection::vec((0u8..4, proptest::collection::vec(0u8..3, 0..3)), 1..5),
    )
        .prop_map(|(security, tables, identities)| RandomApp {
            security,
            tables,
            identities,
        })
}

impl RandomApp {
    pub(crate) fn script(&self) -> String {
        // USERID/GROUP 3 is `*`; A/B value 3 is `*`, None a blank.
        let id = |v: u8, prefix: &str| {
            if v == 3 {
                "*".to_string()
            } else {
                format!("{prefix}{v}")
            }
        };
        let val = |v: Option<u8>| {
            v.map_or(String::new(), |v| {
                if v == 3 { "*".into() } else { v.to_string() }
            })
        };
        let mut s =
            String::from("Section Access;\nSA:\nLOAD * INLINE [\nACCESS, USERID, GROUP, A, B\n");
        for (admin, user, group, a, b) in &self.security {
            s.push_str(&format!(
                "{}, {}, {}, {}, {}\n",
                if *admin { "ADMIN" } else { "USER" },
                id(*user, "U"),
                id(*group, "G"),
                val(*a),
                val(*b)
            ));
        }
        s.push_str("];\nSection Application;\n");
        for (i, (fields, rows)) in self.tables.iter().enumerate() {
            let names: Vec<&str> = fields.iter().map(|&f| ["A", "B", "C", "D"][f]).collect();
            s.push_str(&format!("T{i}:\nLOAD * INLINE [\n{}\n", names.join(", ")));
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| c.map_or(String::new(), |c| c.to_string()))
                    .collect();
                s.push_str(&format!("{}\n", cells.join(", ")));
            }
            s.push_str("];\n");
        }
        s
    }

    pub(crate) fn identities(&self) -> Vec<Identity> {
        self.identities
            .iter()
            .map(|(u, groups)| {
                Identity::new(
                    Some(UserId::new(&format!("u{u}"))),
                    None,
                    groups
                        .iter()
                        .map(|g| GroupName::new(&format!("g{g}")))
                        .collect(),
                )
            })
            .collect()
    }
}
