//! Who the server lists and the audit it shows, from [`crate::audit`].
//!
//! The page needs two things `audit --format json` does not carry: a short
//! label per identity and each table's total, for the matrix header. This
//! file adds them and nothing else, so the server shows exactly the
//! identities, grants and findings the `audit` command prints.

use indexmap::IndexMap;
use serde::Serialize;

use crate::access::Options;
use crate::audit::{self, Audit, Finding};
use crate::load::App;

pub use crate::audit::{identities, label};

/// One identity in the access matrix (a row of the page's table): the
/// audit's result and a label.
#[derive(Clone, Debug, Serialize)]
pub struct MatrixRow {
    /// Short label for lists.
    pub label: String,
    /// The audit's result for the identity.
    #[serde(flatten)]
    pub result: audit::IdentityResult,
}

/// The audit as the server's page shows it: the access matrix (every
/// listed identity, labelled, and the tables with their totals) and the
/// findings. Not [`crate::audit::AuditReport`], the JSON of `audit`.
#[derive(Clone, Debug, Serialize)]
pub struct AccessMatrix {
    /// Application tables in load order, with their row counts (the matrix
    /// columns).
    pub tables: IndexMap<String, usize>,
    /// One result per identity, in the audit's order.
    pub identities: Vec<MatrixRow>,
    /// Findings, errors first.
    pub findings: Vec<Finding>,
}

/// The audit as the server keeps it: the matrix the page shows, and the
/// grants `who` answers from.
#[derive(Debug)]
pub struct Audited {
    /// What `/api/audit` returns.
    pub matrix: AccessMatrix,
    /// The audit itself.
    pub audit: Audit,
}

/// Runs the audit of every identity the security tables name.
pub fn audit(app: &App, opts: &Options) -> Audited {
    let mut audit = Audit::run(app, opts, &[], &|_, _| {});
    let identities = audit
        .entries
        .iter()
        .filter_map(|e| {
            Some(MatrixRow {
                label: label(&e.identity),
                result: audit::IdentityResult::new(&e.identity, audit.grant_of(e)?),
            })
        })
        .collect();
    let matrix = AccessMatrix {
        tables: app
            .data
            .tables()
            .iter()
            .map(|t| (t.name.to_string(), t.len()))
            .collect(),
        identities,
        findings: std::mem::take(&mut audit.findings),
    };
    Audited { matrix, audit }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::load::{LoadOptions, run_source};

    fn app(script: &str) -> App {
        run_source(Path::new("app.qvs"), script, &LoadOptions::default()).unwrap()
    }

    #[test]
    fn the_matrix_carries_labels_and_table_totals() {
        let app = app(
            "Section Access;\nSA: LOAD * INLINE [\nACCESS, USERID, GROUP, V\nUSER, a, *, 1\nUSER, *, sales, 2\n];\nSection Application;\nT: LOAD * INLINE [\nV\n1\n2\n3\n];\n",
        );
        let report = audit(&app, &Options::default()).matrix;
        let labels: Vec<&str> = report.identities.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, ["A", "group:SALES"]);
        assert_eq!(report.tables.get("T"), Some(&3));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["identities"][0]["label"], "A");
        assert_eq!(json["identities"][0]["decision"], "granted");
        assert_eq!(json["identities"][0]["tables"]["T"]["rows"], 1);
    }

    #[test]
    fn no_section_access_is_a_finding_and_names_nobody() {
        let app = app("T: LOAD * INLINE [\nV\n1\n];\n");
        let report = audit(&app, &Options::default()).matrix;
        assert!(report.identities.is_empty());
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.code == audit::FindingCode::NoSectionAccess)
        );
    }
}
