//! Findings as SARIF 2.1.0 (`check --format sarif`, `audit --format
//! sarif`), the format code scanning reads (GitHub, GitLab, Azure DevOps):
//! one rule per finding code, with its description and help; one result
//! per finding, with its level and its place in the script. Built from the
//! `serde-sarif` types, generated from the official schema.

use std::collections::BTreeMap;

use serde_sarif::sarif;

use super::{Finding, FindingCode, Severity};

/// Where the SARIF's files and help point.
#[derive(Clone, Debug, Default)]
pub struct SarifOptions {
    /// The folder of the script as the command line named it (`""` for
    /// the current folder): results name files relative to the folder the
    /// command ran in, as code scanning expects of a run from a
    /// repository's root.
    pub script_dir: String,
    /// Where `docs/findings.md` is published (an absolute URL); each rule's
    /// `helpUri` is this with `#<code>`. Without it rules have no
    /// `helpUri` (SARIF wants an absolute URI), only their help text.
    pub docs_url: Option<String>,
}

/// The SARIF log of `findings`.
pub fn sarif_log(findings: &[Finding], opts: &SarifOptions) -> sarif::Sarif {
    // Every code of the audit's own, then the script run's codes present.
    let mut codes: Vec<FindingCode> = FindingCode::AUDIT.to_vec();
    for f in findings {
        if !codes.contains(&f.code) {
            codes.push(f.code);
        }
    }
    let index: BTreeMap<&str, usize> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let rules: Vec<sarif::ReportingDescriptor> = codes.iter().map(|c| rule(*c, opts)).collect();
    let results: Vec<sarif::Result> = findings
        .iter()
        .map(|f| result(f, index.get(f.code.as_str()).copied(), opts))
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("section-access")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(driver)
        .column_kind(serde_json::Value::from("unicodeCodePoints"))
        .results(results)
        .build();
    sarif::Sarif::builder()
        .schema(sarif::SCHEMA_URL)
        .version(serde_json::Value::from("2.1.0"))
        .runs(vec![run])
        .build()
}

/// The level a severity shows as.
fn level(s: Severity) -> sarif::ResultLevel {
    match s {
        Severity::Error => sarif::ResultLevel::Error,
        Severity::Warning => sarif::ResultLevel::Warning,
        Severity::Info => sarif::ResultLevel::Note,
    }
}

fn rule(code: FindingCode, opts: &SarifOptions) -> sarif::ReportingDescriptor {
    let summary = code.summary().to_string();
    let help = format!(
        "{summary} See docs/findings.md#{} for what to do.",
        code.as_str()
    );
    let mut rule = sarif::ReportingDescriptor::builder()
        .id(code.as_str())
        .name(code.as_str())
        .short_description(&summary)
        .full_description(&summary)
        .help(&help)
        .build();
    rule.help_uri = opts
        .docs_url
        .as_ref()
        .map(|base| format!("{base}#{}", code.as_str()));
    rule
}

fn result(f: &Finding, index: Option<usize>, opts: &SarifOptions) -> sarif::Result {
    let message = format!("{} ({})", f.message, f.help);
    let mut result = sarif::Result::builder()
        .rule_id(f.code.as_str())
        .level(level(f.severity))
        .message(&message)
        .build();
    result.rule_index = index.and_then(|i| i64::try_from(i).ok());
    result.locations = f.location.as_ref().map(|l| {
        let uri = if opts.script_dir.is_empty() {
            l.file.clone()
        } else {
            format!("{}/{}", opts.script_dir.trim_end_matches('/'), l.file)
        };
        let region = sarif::Region::builder()
            .start_line(i64::from(l.line))
            .start_column(i64::from(l.column.max(1)))
            .build();
        let physical = sarif::PhysicalLocation::builder()
            .artifact_location(sarif::ArtifactLocation::builder().uri(uri).build())
            .region(region)
            .build();
        vec![
            sarif::Location::builder()
                .physical_location(physical)
                .build(),
        ]
    });
    result
}
