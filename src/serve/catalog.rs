//! Who the server lists, and the audit it shows: identity enumeration, the
//! access matrix and a minimal findings list.
//!
//! This file stands in for the `audit` module while it is not part of the
//! crate; the JSON shapes are the ones `audit --format json` uses
//! (`{"identities": [...], "findings": [...]}`, findings as
//! `{"code", "severity", "message", "location": {"file", "line"} | null, "help"}`)
//! so swapping this file for `crate::audit` leaves the web page unchanged.
//!
//! Enumeration: each `USERID`/`NTNAME` value of the security tables is a
//! user without groups, each `USER.EMAIL` value an identity with only that
//! e-mail, each `GROUP` value a member of that group without a user id;
//! wildcards and blank cells name nobody.

use std::collections::HashSet;
use std::path::Path;

use indexmap::IndexMap;
use serde::Serialize;

use crate::access::report::{IdentityReport, TableReport};
use crate::access::{AccessLevel, Decision, Evaluator, Options};
use crate::load::App;
use crate::model::NULL;
use crate::names::{Email, GroupName, Identity};

/// The identity columns, in the order identities are listed.
const USER_COLUMNS: [&str; 2] = ["USERID", "NTNAME"];

/// Fields of a security table that are not reduction fields (SPEC §2).
const SYSTEM_FIELDS: [&str; 10] = [
    "ACCESS",
    "USERID",
    "USER.EMAIL",
    "GROUP",
    "OMIT",
    "NTNAME",
    "NTDOMAINSID",
    "NTSID",
    "SERIAL",
    "PASSWORD",
];

/// Identity columns (a blank cell there matches nobody).
const IDENTITY_FIELDS: [&str; 4] = ["USERID", "USER.EMAIL", "GROUP", "NTNAME"];

/// Every identity the security tables name, without duplicates: users, then
/// e-mails, then groups, each in the order first seen.
pub fn identities(app: &App, opts: &Options) -> Vec<Identity> {
    let sec = app.security(opts.uppercase);
    let mut out: Vec<Identity> = Vec::new();
    let mut seen = HashSet::new();
    let wildcard = |text: &str| text == "*" || app.star.as_deref() == Some(text);
    let mut column = |name: &str, make: &dyn Fn(&str) -> Identity| {
        let Some(f) = sec.find_field(name) else {
            return;
        };
        for table in sec.tables() {
            for &id in table.column(f).unwrap_or(&[]) {
                if id == NULL {
                    continue;
                }
                let Some(v) = sec.value(f, id) else { continue };
                let text = v.text();
                let text = text.trim();
                if text.is_empty() || wildcard(text) {
                    continue;
                }
                let identity = make(text);
                if seen.insert(identity.clone()) {
                    out.push(identity);
                }
            }
        }
    };
    for c in USER_COLUMNS {
        column(c, &Identity::user);
    }
    column("USER.EMAIL", &|e| {
        Identity::new(None, Some(Email::new(e)), Vec::new())
    });
    column("GROUP", &|g| {
        Identity::new(None, None, vec![GroupName::new(g)])
    });
    out
}

/// A short label for an identity: the user id, else the e-mail, else
/// `group:NAME`.
pub fn label(identity: &Identity) -> String {
    let mut parts = Vec::new();
    if let Some(u) = &identity.userid {
        parts.push(u.to_string());
    }
    if let Some(e) = &identity.email {
        parts.push(e.to_string());
    }
    if !identity.groups.is_empty() {
        let groups: Vec<String> = identity
            .groups
            .iter()
            .map(|g| format!("group:{g}"))
            .collect();
        parts.push(groups.join(" "));
    }
    if parts.is_empty() {
        String::from("(anonymous)")
    } else {
        parts.join(" ")
    }
}

/// The JSON form of an identity.
pub fn identity_report(identity: &Identity) -> IdentityReport {
    IdentityReport {
        userid: identity.userid.as_ref().map(ToString::to_string),
        email: identity.email.as_ref().map(ToString::to_string),
        groups: identity.groups.iter().map(ToString::to_string).collect(),
    }
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; often intended.
    Info,
    /// Probably not what the author meant.
    Warning,
    /// The script does not do what it says.
    Error,
}

/// Where a finding points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file, relative to the script's folder when inside it.
    pub file: String,
    /// 1-based line.
    pub line: u32,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case code.
    pub code: &'static str,
    /// How serious.
    pub severity: Severity,
    /// Lower-case message, values in backticks.
    pub message: String,
    /// Script line, when known.
    pub location: Option<Location>,
    /// What to do about it.
    pub help: String,
}

/// One identity in the access matrix.
#[derive(Clone, Debug, Serialize)]
pub struct IdentityResult {
    /// Who.
    pub identity: IdentityReport,
    /// Short label for lists.
    pub label: String,
    /// `granted` or `denied`.
    pub decision: &'static str,
    /// SPEC §8 code when denied.
    pub reason: Option<&'static str>,
    /// `ADMIN` or `USER` when granted.
    pub access: Option<AccessLevel>,
    /// S_f per applied field.
    pub reduction: IndexMap<String, Vec<String>>,
    /// Hidden application fields.
    pub omitted: Vec<String>,
    /// Every application table: rows left, total, visible fields.
    pub tables: IndexMap<String, TableReport>,
}

/// The audit: every listed identity and the findings.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// Application tables in load order, with their row counts (the matrix
    /// columns).
    pub tables: IndexMap<String, usize>,
    /// One result per identity, in [`identities`] order.
    pub identities: Vec<IdentityResult>,
    /// Findings, errors first.
    pub findings: Vec<Finding>,
}

/// Evaluates every listed identity and collects the findings.
pub fn audit(app: &App, opts: &Options, script: &Path) -> AuditReport {
    let evaluator = Evaluator::new(app, *opts);
    let listed = identities(app, opts);
    let results: Vec<(Identity, Decision)> = listed
        .into_iter()
        .map(|i| {
            let d = evaluator.evaluate(&i);
            (i, d)
        })
        .collect();
    let identities = results
        .iter()
        .map(|(i, d)| result(app, i, d))
        .collect::<Vec<_>>();
    let tables = app
        .data
        .tables()
        .iter()
        .map(|t| (t.name.to_string(), t.len()))
        .collect();
    AuditReport {
        tables,
        findings: findings(app, opts, script, &identities),
        identities,
    }
}

fn result(app: &App, identity: &Identity, decision: &Decision) -> IdentityResult {
    let report = crate::access::PreviewReport::new(app, identity, decision);
    IdentityResult {
        identity: report.identity,
        label: label(identity),
        decision: report.decision,
        reason: report.reason,
        access: report.access,
        reduction: report.reduction,
        omitted: report.omitted,
        tables: report.tables,
    }
}

/// A minimal findings list: the script's structure (no section access,
/// security fields reducing nothing, OMIT values naming no field, blank
/// identity cells, invalid ACCESS values), load warnings, and listed
/// identities that are denied although the script names them.
pub fn findings(
    app: &App,
    opts: &Options,
    script: &Path,
    results: &[IdentityResult],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let sec = app.security(opts.uppercase);
    let folder = script.parent().unwrap_or(Path::new(""));
    let locate = |table: &crate::model::Table, row: usize| -> Option<Location> {
        let origin = table.origin(row)?;
        let path = app
            .sources
            .path(crate::script::source::SourceId(origin.file))?;
        let shown = path.strip_prefix(folder).unwrap_or(path);
        Some(Location {
            file: shown.display().to_string(),
            line: origin.line,
        })
    };
    if sec.tables().is_empty() {
        out.push(Finding {
            code: "no-section-access",
            severity: Severity::Info,
            message: String::from("the script loads no security table: everyone sees everything"),
            location: None,
            help: String::from("add a `Section Access;` part to restrict the app"),
        });
    }
    let data_fields: Vec<String> = app
        .data
        .live_fields()
        .into_iter()
        .filter_map(|f| app.data.field_name(f).map(ToString::to_string))
        .collect();
    // Security fields that reduce nothing.
    let mut reported = HashSet::new();
    for table in sec.tables() {
        for f in table.fields() {
            let Some(name) = sec.field_name(f) else {
                continue;
            };
            let name = name.as_str();
            if SYSTEM_FIELDS.contains(&name)
                || data_fields.iter().any(|d| d == name)
                || !reported.insert(name.to_string())
            {
                continue;
            }
            let near = data_fields.iter().find(|d| d.eq_ignore_ascii_case(name));
            out.push(Finding {
                code: "unmatched-security-field",
                severity: Severity::Warning,
                message: format!(
                    "security field `{name}` matches no application field: it reduces nothing"
                ),
                location: locate(table, 0),
                help: near.map_or_else(
                    || String::from("name the application field exactly, upper-case"),
                    |d| {
                        format!(
                            "did you mean `{d}`? field names match case-sensitively; load it as `Upper({d}) as {name}` or rename it"
                        )
                    },
                ),
            });
        }
    }
    for table in sec.tables() {
        // Blank identity cells and invalid ACCESS values, per row.
        for field_name in IDENTITY_FIELDS {
            let Some(f) = sec.find_field(field_name) else {
                continue;
            };
            let Some(col) = table.column(f) else { continue };
            for (row, &id) in col.iter().enumerate() {
                let blank =
                    id == NULL || sec.value(f, id).is_none_or(|v| v.text().trim().is_empty());
                if blank {
                    out.push(Finding {
                        code: "blank-identity-cell",
                        severity: Severity::Warning,
                        message: format!(
                            "row {} of `{}` has a blank `{field_name}`: it matches nobody",
                            row + 1,
                            table.name
                        ),
                        location: locate(table, row),
                        help: String::from("write `*` to match everyone, or the value meant"),
                    });
                }
            }
        }
        if let Some(f) = sec.find_field("ACCESS")
            && let Some(col) = table.column(f)
        {
            for (row, &id) in col.iter().enumerate() {
                let text = sec
                    .value(f, id)
                    .map(|v| v.text().trim().to_uppercase())
                    .unwrap_or_default();
                if text != "ADMIN" && text != "USER" {
                    out.push(Finding {
                        code: "invalid-access-value",
                        severity: Severity::Error,
                        message: format!(
                            "row {} of `{}` has ACCESS `{text}`: it grants nothing",
                            row + 1,
                            table.name
                        ),
                        location: locate(table, row),
                        help: String::from("ACCESS must be `ADMIN` or `USER`"),
                    });
                }
            }
        }
        if let Some(f) = sec.find_field("OMIT")
            && let Some(col) = table.column(f)
        {
            let mut seen = HashSet::new();
            for (row, &id) in col.iter().enumerate() {
                let Some(text) = sec.value(f, id).map(|v| v.text().trim().to_uppercase()) else {
                    continue;
                };
                if text.is_empty() || text == "*" || !seen.insert(text.clone()) {
                    continue;
                }
                if !data_fields.contains(&text) {
                    out.push(Finding {
                        code: "omit-unknown-field",
                        severity: Severity::Warning,
                        message: format!("OMIT names `{text}`, which is no application field"),
                        location: locate(table, row),
                        help: String::from(
                            "OMIT compares with field names exactly after upper-casing the value",
                        ),
                    });
                }
            }
        }
    }
    for w in &app.warnings {
        out.push(Finding {
            code: w.code,
            severity: Severity::Warning,
            message: w.message.clone(),
            location: w.span.map(|s| {
                let at = app.sources.location(s);
                let shown = at.path.strip_prefix(folder).unwrap_or(&at.path);
                Location {
                    file: shown.display().to_string(),
                    line: at.line,
                }
            }),
            help: String::from("see the load warning"),
        });
    }
    for r in results {
        let code = match r.reason {
            Some("strict-exclusion") => "strict-exclusion-denied",
            Some("reduced-to-nothing") => "reduced-to-nothing-denied",
            Some("no-valid-access") => "no-valid-access-denied",
            _ => continue,
        };
        out.push(Finding {
            code,
            severity: Severity::Warning,
            message: format!(
                "`{}` is named in section access but denied ({})",
                r.label,
                r.reason.unwrap_or_default()
            ),
            location: None,
            help: String::from("check that the reduction values exist in the data"),
        });
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
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
    fn identities_are_users_then_emails_then_groups_without_wildcards_or_blanks() {
        let app = app(
            "Section Access;\nSA: LOAD * INLINE [\nACCESS, USERID, USER.EMAIL, GROUP\nUSER, a, *, *\nUSER, *, b@x.com, *\nUSER, *, *, sales\nUSER, a, , sales\nADMIN, , *, *\n];\nSection Application;\nT: LOAD * INLINE [\nV\n1\n];\n",
        );
        let labels: Vec<String> = identities(&app, &Options::default())
            .iter()
            .map(label)
            .collect();
        assert_eq!(labels, ["A", "B@X.COM", "group:SALES"]);
    }

    #[test]
    fn no_section_access_is_a_finding_and_names_nobody() {
        let app = app("T: LOAD * INLINE [\nV\n1\n];\n");
        let report = audit(&app, &Options::default(), Path::new("app.qvs"));
        assert!(report.identities.is_empty());
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].code, "no-section-access");
    }
}
