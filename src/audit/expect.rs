//! Expectation files for `section-access test`: who must see what.
//!
//! A TOML file of `[[case]]` tables. Each case names an identity and any of
//! the expectations; unknown keys are an error (with line and column):
//!
//! ```toml
//! [[case]]
//! name = "a US sales rep sees only US rows"
//! user = "us-user"               # USERID (upper-cased like Qlik does)
//! groups = ["sales"]             # optional
//! email = "rep@example.com"      # optional
//! decision = "granted"           # granted | denied | unauthorized
//! access = "USER"                # ADMIN | USER
//! reduction = { COUNTRY = ["US"] }        # exact S_f per listed field
//! rows = { Sales = 3 }                    # rows left per table
//! omitted = ["SALES_AMOUNT"]              # exact set of hidden fields
//! visible = { PRODUCT = ["A", "B"] }      # these values can be seen
//! hidden = { COUNTRY = ["DE"] }           # these values cannot be seen
//!
//! [[case]]
//! name = "strangers are locked out"
//! user = "nobody"
//! decision = "denied"
//! reason = "no-matching-row"
//! ```
//!
//! A case may instead give `token` (a JWT, or `@file`) with `profile`
//! (`engine` (default), `cloud`, `qseow`) and its settings: `secret` (HMAC)
//! or `key` (PEM public key or certificate file), `now` (RFC 3339 clock;
//! default the system clock), `validate` (engine `ValidateJsonWebTokens`,
//! default 2), `kid` and `issuer` (cloud). The token is verified exactly as
//! `preview --token` does; an invalid one gives decision `unauthorized` with
//! the first failed check as `reason` (e.g. `expired`, `bad-signature`).
//! Paths (`@file`, `key`) are relative to the expectation file.
//! Values in `reduction`, `visible` and `hidden` compare as text with the
//! data values (numbers may be written as TOML numbers). A denied identity
//! sees 0 rows of every table and no values.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::access::{AccessLevel, Decision, Evaluator, Outcome};
use crate::jwt;
use crate::load::App;
use crate::names::{Email, GroupName, Identity, UserId};

/// A whole expectation file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// The cases, in file order.
    #[serde(default, rename = "case")]
    pub cases: Vec<Case>,
    /// The folder relative paths in cases start from (the file's folder).
    #[serde(skip)]
    pub base: PathBuf,
}

/// A value in an expectation: text, or a number written as a TOML number.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Scalar {
    /// Text, compared exactly.
    Text(String),
    /// An integer, compared with the value's text.
    Int(i64),
    /// A float, compared with the value's text.
    Float(f64),
}

impl Scalar {
    /// The text to compare with a data value.
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(t) => t.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => crate::model::format_number(*f),
        }
    }
}

/// The expected decision.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedDecision {
    /// Opens the app.
    Granted,
    /// Access denied.
    Denied,
    /// Token rejected (401).
    Unauthorized,
}

impl ExpectedDecision {
    fn as_str(self) -> &'static str {
        match self {
            ExpectedDecision::Granted => "granted",
            ExpectedDecision::Denied => "denied",
            ExpectedDecision::Unauthorized => "unauthorized",
        }
    }
}

/// The expected access level.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum ExpectedAccess {
    /// `ADMIN`.
    #[serde(rename = "ADMIN", alias = "admin")]
    Admin,
    /// `USER`.
    #[serde(rename = "USER", alias = "user")]
    User,
}

impl ExpectedAccess {
    fn level(self) -> AccessLevel {
        match self {
            ExpectedAccess::Admin => AccessLevel::Admin,
            ExpectedAccess::User => AccessLevel::User,
        }
    }
}

/// One `[[case]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case checks, shown in the output.
    pub name: String,
    /// `USERID`.
    pub user: Option<String>,
    /// Groups (`GROUP`, `NTNAME`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// `USER.EMAIL`.
    pub email: Option<String>,
    /// A JSON Web Token (or `@file`) to verify instead of a typed identity.
    pub token: Option<String>,
    /// Token profile: `engine`, `cloud` or `qseow`.
    pub profile: Option<String>,
    /// HMAC secret for the token.
    pub secret: Option<String>,
    /// PEM public key or certificate file for the token.
    pub key: Option<PathBuf>,
    /// The clock for the token checks (RFC 3339).
    pub now: Option<String>,
    /// Engine `ValidateJsonWebTokens` level (0, 1, 2; default 2).
    pub validate: Option<u8>,
    /// Cloud: the identity provider's key id.
    pub kid: Option<String>,
    /// Cloud: the identity provider's issuer.
    pub issuer: Option<String>,
    /// Expected decision.
    pub decision: Option<ExpectedDecision>,
    /// Expected SPEC §8 reason code when denied.
    pub reason: Option<String>,
    /// Expected access level.
    pub access: Option<ExpectedAccess>,
    /// Exact S_f per listed field.
    pub reduction: Option<IndexMap<String, Vec<Scalar>>>,
    /// Rows left per listed table.
    pub rows: Option<IndexMap<String, usize>>,
    /// Exact set of omitted fields.
    pub omitted: Option<Vec<String>>,
    /// Values that must be visible, per field.
    pub visible: Option<IndexMap<String, Vec<Scalar>>>,
    /// Values that must not be visible, per field.
    pub hidden: Option<IndexMap<String, Vec<Scalar>>>,
}

/// An expectation file that could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SuiteError {
    /// Unreadable file.
    #[error("cannot read `{path}`: {message}")]
    #[diagnostic(code(expectations::read))]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Not valid TOML, or not the expected shape (unknown key, wrong type).
    #[error("invalid expectations in `{path}`: {message}")]
    #[diagnostic(
        code(expectations::parse),
        help(
            "each `[[case]]` takes `name`, an identity (`user`, `groups`, `email`, or `token` with `profile`, `secret`, `key`, `now`, `validate`, `kid`, `issuer`) and any of `decision`, `reason`, `access`, `reduction`, `rows`, `omitted`, `visible`, `hidden`"
        )
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error, with line and column.
        message: String,
    },
}

/// Reads and parses an expectation file.
pub fn read_suite(path: &Path) -> Result<Suite, SuiteError> {
    let text = std::fs::read_to_string(path).map_err(|e| SuiteError::Read {
        path: path.to_path_buf(),
        message: e.to_string().to_lowercase(),
    })?;
    let mut suite = parse_suite(&text, path)?;
    suite.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(suite)
}

/// Parses expectation text (`path` names it in errors).
pub fn parse_suite(text: &str, path: &Path) -> Result<Suite, SuiteError> {
    let suite: Suite = toml::from_str(text).map_err(|e| SuiteError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    for case in &suite.cases {
        let typed = case.user.is_some() || case.email.is_some() || !case.groups.is_empty();
        let problem = if typed && case.token.is_some() {
            Some("give either `token` or `user`/`email`/`groups`, not both")
        } else if !typed && case.token.is_none() {
            Some("no identity: give `user`, `email`, `groups` or `token`")
        } else if case.token.is_none()
            && (case.profile.is_some()
                || case.secret.is_some()
                || case.key.is_some()
                || case.now.is_some()
                || case.validate.is_some()
                || case.kid.is_some()
                || case.issuer.is_some())
        {
            Some(
                "`profile`, `secret`, `key`, `now`, `validate`, `kid` and `issuer` only apply to `token`",
            )
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(SuiteError::Parse {
                path: path.to_path_buf(),
                message: format!("case `{}`: {p}", case.name),
            });
        }
    }
    Ok(suite)
}

/// One expectation that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// What was checked, e.g. `rows.Sales`, `reduction.COUNTRY`.
    pub what: String,
    /// Expected, as shown.
    pub expected: String,
    /// Got, as shown.
    pub got: String,
}

/// The result of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Who was evaluated (label).
    pub identity: String,
    /// Expectations that did not hold.
    pub mismatches: Vec<Mismatch>,
    /// The case could not be evaluated (e.g. a token without the jwt module).
    pub error: Option<String>,
}

impl CaseResult {
    /// True when every expectation held.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty() && self.error.is_none()
    }

    /// Expected-vs-got lines.
    pub fn details(&self) -> String {
        let mut s = String::new();
        if let Some(e) = &self.error {
            let _ = writeln!(s, "error: {e}");
        }
        for m in &self.mismatches {
            let _ = writeln!(s, "{}: expected {}, got {}", m.what, m.expected, m.got);
        }
        s
    }
}

/// Who a case is about: a typed identity, or what its token came to.
enum Resolved {
    /// Evaluate this identity.
    Identity(Identity),
    /// The token was rejected (the engine's 401): the failed checks' codes.
    Unauthorized(Vec<String>),
}

/// Resolves a case's identity; tokens are verified like `preview --token`.
fn resolve(case: &Case, base: &Path) -> Result<Resolved, String> {
    let Some(token) = &case.token else {
        return Ok(Resolved::Identity(Identity::new(
            case.user.as_deref().map(UserId::new),
            case.email.as_deref().map(Email::new),
            case.groups.iter().map(|g| GroupName::new(g)).collect(),
        )));
    };
    let read = |p: &Path| {
        let full = base.join(p);
        std::fs::read(&full).map_err(|e| format!("cannot read `{}`: {e}", full.display()))
    };
    let token = match token.strip_prefix('@') {
        Some(file) => String::from_utf8_lossy(&read(Path::new(file))?)
            .trim()
            .to_string(),
        None => token.trim().to_string(),
    };
    let profile = match case.profile.as_deref().unwrap_or("engine") {
        "engine" => {
            let level = case.validate.unwrap_or(2);
            let validate = jwt::Validate::from_level(level)
                .ok_or_else(|| format!("`validate` is 0, 1 or 2, not {level}"))?;
            jwt::Profile::Engine(jwt::EngineProfile { validate })
        }
        "cloud" => match (&case.kid, &case.issuer) {
            (Some(kid), Some(issuer)) => jwt::Profile::Cloud(jwt::CloudProfile::new(kid, issuer)),
            _ => {
                return Err(String::from(
                    "a `cloud` token case needs `kid` and `issuer`",
                ));
            }
        },
        "qseow" => jwt::Profile::Qseow(jwt::QseowProfile::default()),
        other => {
            return Err(format!(
                "unknown profile `{other}`: use `engine`, `cloud` or `qseow`"
            ));
        }
    };
    let keys = match (&case.secret, &case.key) {
        (Some(_), Some(_)) => return Err(String::from("give `secret` or `key`, not both")),
        (Some(secret), None) => jwt::Keys::secret(secret.as_bytes()),
        (None, Some(key)) => jwt::Keys::from_pem(&read(key)?),
        (None, None) => Ok(jwt::Keys::None),
    }
    .map_err(|e| e.to_string())?;
    let now = match &case.now {
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|_| format!("`now` = `{t}` is not an RFC 3339 time"))?
            .unix_timestamp(),
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    };
    let v = jwt::verify(&token, &profile, &keys, now, 0);
    Ok(match v.identity {
        Some(id) if v.valid => Resolved::Identity(id),
        _ => Resolved::Unauthorized(v.codes()),
    })
}

/// Runs every case against an app.
pub fn run_suite(app: &App, ev: &Evaluator<'_>, suite: &Suite) -> Vec<CaseResult> {
    suite
        .cases
        .iter()
        .map(|case| match resolve(case, &suite.base) {
            Ok(Resolved::Identity(id)) => {
                let decision = ev.evaluate(&id);
                CaseResult {
                    name: case.name.clone(),
                    identity: super::label(&id),
                    mismatches: check(app, case, &decision),
                    error: None,
                }
            }
            Ok(Resolved::Unauthorized(codes)) => CaseResult {
                name: case.name.clone(),
                identity: String::from("token (rejected)"),
                mismatches: check_unauthorized(case, &codes),
                error: None,
            },
            Err(e) => CaseResult {
                name: case.name.clone(),
                identity: String::from("token"),
                mismatches: Vec::new(),
                error: Some(e),
            },
        })
        .collect()
}

/// Compares a rejected token with a case: only `decision = "unauthorized"`
/// (and its `reason`) can hold; every other expectation needs an identity
/// that got in.
fn check_unauthorized(case: &Case, codes: &[String]) -> Vec<Mismatch> {
    let first = codes.first().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let got = format!("unauthorized ({})", codes.join(", "));
    if case.decision != Some(ExpectedDecision::Unauthorized) {
        let expected = case
            .decision
            .map_or("an identity that opens the app", ExpectedDecision::as_str);
        out.push(Mismatch {
            what: String::from("decision"),
            expected: expected.to_string(),
            got: got.clone(),
        });
    }
    if let Some(r) = &case.reason
        && !codes.contains(r)
    {
        out.push(Mismatch {
            what: String::from("reason"),
            expected: r.clone(),
            got: first,
        });
    }
    let sees_something = case.access.is_some()
        || case.reduction.is_some()
        || case.omitted.is_some()
        || case.visible.as_ref().is_some_and(|v| !v.is_empty())
        || case
            .rows
            .as_ref()
            .is_some_and(|r| r.values().any(|&n| n > 0));
    if sees_something {
        out.push(Mismatch {
            what: String::from("access"),
            expected: String::from("what a granted identity sees"),
            got,
        });
    }
    out
}

fn list(values: &BTreeSet<String>) -> String {
    let v: Vec<&str> = values.iter().map(String::as_str).collect();
    format!("[{}]", v.join(", "))
}

fn texts(values: &[Scalar]) -> BTreeSet<String> {
    values.iter().map(Scalar::text).collect()
}

/// Compares a decision with a case's expectations.
pub fn check(app: &App, case: &Case, decision: &Decision) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut miss = |what: String, expected: String, got: String| {
        out.push(Mismatch {
            what,
            expected,
            got,
        });
    };
    let granted = decision.outcome.is_granted();
    let got_decision = if granted { "granted" } else { "denied" };
    if let Some(d) = case.decision
        && d.as_str() != got_decision
    {
        let why = decision
            .outcome
            .reason()
            .map_or(String::new(), |r| format!(" ({})", r.code()));
        miss(
            "decision".into(),
            d.as_str().into(),
            format!("{got_decision}{why}"),
        );
    }
    if let Some(r) = &case.reason {
        let got = match decision.outcome {
            Outcome::Granted => String::from("none (granted)"),
            Outcome::Denied(x) => x.code().to_string(),
        };
        if *r != got {
            miss("reason".into(), r.clone(), got);
        }
    }
    if let Some(a) = case.access {
        let got = if granted { decision.access } else { None };
        if got != Some(a.level()) {
            miss(
                "access".into(),
                a.level().as_str().into(),
                got.map_or_else(|| String::from("none"), |g| g.as_str().to_string()),
            );
        }
    }
    let reduction: IndexMap<String, Vec<String>> = if granted {
        decision.reduction_text(&app.data).into_iter().collect()
    } else {
        IndexMap::new()
    };
    for (field, want) in case.reduction.iter().flatten() {
        let want = texts(want);
        match reduction.get(field) {
            Some(got) => {
                let got: BTreeSet<String> = got.iter().cloned().collect();
                if got != want {
                    miss(format!("reduction.{field}"), list(&want), list(&got));
                }
            }
            None => miss(
                format!("reduction.{field}"),
                list(&want),
                String::from("not reduced"),
            ),
        }
    }
    let omitted_ids = decision.omitted_ids();
    let counts: IndexMap<String, usize> = decision
        .reduced
        .as_ref()
        .map(|r| {
            r.tables(&app.data, &omitted_ids)
                .map(|t| (t.name().to_string(), if granted { t.count() } else { 0 }))
                .collect()
        })
        .unwrap_or_else(|| {
            app.data
                .tables()
                .iter()
                .map(|t| (t.name.to_string(), 0))
                .collect()
        });
    for (table, &want) in case.rows.iter().flatten() {
        match counts.get(table) {
            Some(&got) if got == want => {}
            Some(&got) => miss(format!("rows.{table}"), want.to_string(), got.to_string()),
            None => miss(
                format!("rows.{table}"),
                want.to_string(),
                String::from("no such table"),
            ),
        }
    }
    if let Some(want) = &case.omitted {
        let want: BTreeSet<String> = want.iter().cloned().collect();
        let got: BTreeSet<String> = if granted {
            decision
                .omitted
                .iter()
                .map(|(_, n)| n.to_string())
                .collect()
        } else {
            BTreeSet::new()
        };
        if got != want {
            miss("omitted".into(), list(&want), list(&got));
        }
    }
    let visible_values = |field: &str| -> Option<BTreeSet<String>> {
        let f = app.data.find_field(field)?;
        if !app.data.tables().iter().any(|t| t.has_field(f)) {
            return None;
        }
        if !granted || omitted_ids.contains(&f) {
            return Some(BTreeSet::new());
        }
        let reduced = decision.reduced.as_ref()?;
        Some(
            reduced
                .values(&app.data, f)
                .iter()
                .filter_map(|id| app.data.value(f, crate::model::SymbolId::from_index(id)?))
                .map(|v| v.text().into_owned())
                .collect(),
        )
    };
    for (field, want) in case.visible.iter().flatten() {
        let want = texts(want);
        match visible_values(field) {
            Some(got) => {
                let missing: BTreeSet<String> = want.difference(&got).cloned().collect();
                if !missing.is_empty() {
                    miss(
                        format!("visible.{field}"),
                        format!("{} visible", list(&want)),
                        format!("{} not visible", list(&missing)),
                    );
                }
            }
            None => miss(
                format!("visible.{field}"),
                list(&want),
                String::from("no such field"),
            ),
        }
    }
    for (field, want) in case.hidden.iter().flatten() {
        let want = texts(want);
        match visible_values(field) {
            Some(got) => {
                let seen: BTreeSet<String> = want.intersection(&got).cloned().collect();
                if !seen.is_empty() {
                    miss(
                        format!("hidden.{field}"),
                        format!("{} hidden", list(&want)),
                        format!("{} visible", list(&seen)),
                    );
                }
            }
            None => miss(
                format!("hidden.{field}"),
                list(&want),
                String::from("no such field"),
            ),
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML for a suite's results (no timestamps: deterministic).
pub fn junit(suite_name: &str, results: &[CaseResult]) -> String {
    let failures = results
        .iter()
        .filter(|r| r.error.is_none() && !r.mismatches.is_empty())
        .count();
    let errors = results.iter().filter(|r| r.error.is_some()).count();
    let n = results.len();
    let name = xml_escape(suite_name);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"section-access\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"{name}\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">"
    );
    for r in results {
        let _ = write!(
            s,
            "    <testcase name=\"{}\" classname=\"{name}\"",
            xml_escape(&r.name)
        );
        if r.passed() {
            s.push_str("/>\n");
            continue;
        }
        s.push_str(">\n");
        if let Some(e) = &r.error {
            let _ = writeln!(
                s,
                "      <error message=\"{}\" type=\"error\"/>",
                xml_escape(e)
            );
        } else {
            let k = r.mismatches.len();
            let _ = writeln!(
                s,
                "      <failure message=\"{k} expectation{} failed for {}\" type=\"expectation\">{}</failure>",
                if k == 1 { "" } else { "s" },
                xml_escape(&r.identity),
                xml_escape(r.details().trim_end())
            );
        }
        s.push_str("    </testcase>\n");
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_line_and_column() {
        let text = "[[case]]\nname = \"a\"\nuser = \"x\"\nrowz = { T = 1 }\n";
        let err = parse_suite(text, Path::new("e.toml"))
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("rowz"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn a_case_needs_exactly_one_kind_of_identity() {
        let none = "[[case]]\nname = \"a\"\ndecision = \"denied\"\n";
        assert!(parse_suite(none, Path::new("e.toml")).is_err());
        let both = "[[case]]\nname = \"a\"\nuser = \"x\"\ntoken = \"t\"\n";
        assert!(parse_suite(both, Path::new("e.toml")).is_err());
        let ok = "[[case]]\nname = \"a\"\ntoken = \"t\"\nprofile = \"engine\"\nsecret = \"s\"\nnow = \"2024-01-01T00:00:00Z\"\n";
        assert!(parse_suite(ok, Path::new("e.toml")).is_ok());
    }

    #[test]
    fn junit_escapes_and_counts() {
        let results = vec![
            CaseResult {
                name: "ok".into(),
                identity: "A".into(),
                mismatches: Vec::new(),
                error: None,
            },
            CaseResult {
                name: "a <b>".into(),
                identity: "B".into(),
                mismatches: vec![Mismatch {
                    what: "rows.T".into(),
                    expected: "1".into(),
                    got: "2".into(),
                }],
                error: None,
            },
        ];
        let x = junit("s", &results);
        assert!(x.contains("tests=\"2\" failures=\"1\" errors=\"0\""));
        assert!(x.contains("name=\"a &lt;b&gt;\""));
        assert!(x.contains("rows.T: expected 1, got 2"));
    }
}
