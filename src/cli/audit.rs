//! `section-access audit`: every identity, who sees what, and the findings.
//!
//! Runs the script, audits every identity the security tables name (plus a
//! user-directory export given with `--identities`), and prints a text
//! table, the JSON of [`section_access::audit::AuditReport`], one CSV row per
//! identity, or a self-contained HTML page. Exits 4 when a finding reaches
//! `--fail-on`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use section_access::Identity;
use section_access::access::Options;
use section_access::audit::{Audit, Finding, Severity, html, label, read_identities};
use section_access::load::App;

use super::{EvalArgs, Exit, ScriptArgs};

/// Output of `audit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(super) enum AuditFormat {
    /// A table for the terminal, then the findings.
    #[default]
    Text,
    /// `{"identities": [...], "findings": [...]}`.
    Json,
    /// One row per identity.
    Csv,
    /// A self-contained report page.
    Html,
    /// The findings as SARIF 2.1.0, for code scanning.
    Sarif,
}

/// `--fail-on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum FailOn {
    /// Any finding.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

impl FailOn {
    /// The lowest severity that fails.
    pub(super) fn severity(self) -> Severity {
        match self {
            FailOn::Info => Severity::Info,
            FailOn::Warning => Severity::Warning,
            FailOn::Error => Severity::Error,
        }
    }
}

/// Arguments of `audit`.
#[derive(Debug, Args)]
pub(super) struct AuditArgs {
    #[command(flatten)]
    script: ScriptArgs,
    #[command(flatten)]
    eval: EvalArgs,
    /// More identities: a CSV with a header `userid,email,groups` (groups
    /// separated by `;`), e.g. an export of the user directory.
    #[arg(long, value_name = "FILE.csv")]
    identities: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: AuditFormat,
    /// With `--format sarif`: where `docs/findings.md` is published, for
    /// each rule's `helpUri`.
    #[arg(long, value_name = "URL")]
    docs_url: Option<String>,
    /// Exit 4 when a finding is at least this severe.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
}

/// `findings` as a SARIF 2.1.0 log, files named from the folder the
/// command runs in (the script's folder as given); `--docs-url` must be an
/// absolute URL.
pub(super) fn sarif_text(
    findings: &[section_access::audit::Finding],
    script: &Path,
    docs_url: Option<&str>,
) -> Result<String, Exit> {
    if let Some(url) = docs_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        eprintln!("error: --docs-url `{url}` must be an absolute http(s) URL (SARIF wants one)");
        return Err(Exit::Usage);
    }
    let opts = section_access::audit::sarif::SarifOptions {
        script_dir: script
            .parent()
            .map(|p| p.display().to_string().replace('\\', "/"))
            .unwrap_or_default(),
        docs_url: docs_url.map(str::to_string),
    };
    let log = section_access::audit::sarif::sarif_log(findings, &opts);
    serde_json::to_string_pretty(&log)
        .map(|s| s + "\n")
        .map_err(|e| {
            eprintln!("error: cannot write the SARIF log: {e}");
            Exit::Error
        })
}

/// The identities of `--identities FILE.csv`, if given; a bad file is
/// reported on stderr.
pub(super) fn extra_identities(path: Option<&Path>) -> Result<Vec<Identity>, Exit> {
    match path {
        Some(path) => read_identities(path).map_err(|e| {
            super::report_error(&e);
            Exit::Error
        }),
        None => Ok(Vec::new()),
    }
}

/// A progress bar on stderr while many grants are decided (indicatif;
/// hidden unless stderr is a terminal). Called by whichever worker has
/// just decided a grant: the bar moves only forward, whatever order two
/// workers report in.
pub(super) fn progress() -> impl Fn(usize, usize) + Sync {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("auditing {bar:25} {percent:>3}%  {pos}/{len} distinct grants")
    {
        bar.set_style(style);
    }
    let shown = AtomicUsize::new(0);
    move |done, total| {
        // A small audit ends before a bar would help.
        if total < 2000 {
            return;
        }
        bar.set_length(total as u64);
        if shown.fetch_max(done, Ordering::Relaxed) < done {
            bar.set_position(done as u64);
        }
        if done >= total {
            bar.finish_and_clear();
        }
    }
}

/// Loads the script and audits the identities it names plus those of
/// `identities` (a progress bar on a terminal): what `audit` and `who`
/// start from.
pub(super) fn load_and_audit(
    script: &ScriptArgs,
    eval: &EvalArgs,
    identities: Option<&Path>,
) -> Result<(App, Options, Audit), Exit> {
    let app = script.load()?;
    let extra = extra_identities(identities)?;
    let opts = eval.options(script.uppercase);
    let tick = progress();
    let audit = Audit::run(&app, &opts, &extra, &tick);
    Ok((app, opts, audit))
}

/// Runs `audit`.
pub(super) fn run(args: &AuditArgs) -> Exit {
    let (app, opts, audit) =
        match load_and_audit(&args.script, &args.eval, args.identities.as_deref()) {
            Ok(done) => done,
            Err(code) => return code,
        };
    let code = report(args, &app, &opts, &audit);
    super::leave(audit);
    super::leave(app);
    code
}

/// Writes the audit in the format asked for.
fn report(args: &AuditArgs, app: &App, opts: &Options, audit: &Audit) -> Exit {
    let code = match (args.fail_on, audit.worst()) {
        (Some(f), Some(w)) if w >= f.severity() => Exit::Findings,
        _ => Exit::Ok,
    };
    let text = match args.format {
        AuditFormat::Json => {
            // Streamed: the document can be a hundred megabytes.
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            let written = audit
                .write_json(&mut out)
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush());
            return match written {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    eprintln!("error: {e}");
                    Exit::Error
                }
                _ => code,
            };
        }
        AuditFormat::Csv => match csv_text(audit) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Error;
            }
        },
        AuditFormat::Html => {
            let title = args.script.script.file_name().map_or_else(
                || args.script.script.display().to_string(),
                |f| f.to_string_lossy().into_owned(),
            );
            let meta = [
                ("product", format!("{:?}", opts.product).to_lowercase()),
                (
                    "upper-casing",
                    format!("{:?}", opts.uppercase).to_lowercase(),
                ),
                (
                    "identities",
                    match &args.identities {
                        Some(p) => format!("security tables + {}", p.display()),
                        None => String::from("named by the security tables"),
                    },
                ),
                (
                    "approximate",
                    if app.approximate {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                ),
            ];
            html::render(audit, &title, &meta)
        }
        AuditFormat::Sarif => {
            match sarif_text(
                &audit.findings,
                &args.script.script,
                args.docs_url.as_deref(),
            ) {
                Ok(s) => s,
                Err(code) => return code,
            }
        }
        AuditFormat::Text => text_report(audit),
    };
    if let Err(e) = io::stdout().lock().write_all(text.as_bytes())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("error: {e}");
        return Exit::Error;
    }
    code
}

fn reduction_text(g: &section_access::audit::Verdict, max: usize) -> String {
    if !g.is_granted() {
        return String::new();
    }
    let mut parts: Vec<String> = g
        .view
        .reduction
        .iter()
        .map(|(n, v)| {
            let shown: Vec<&str> = v.iter().take(max).map(String::as_str).collect();
            let more = v.len().saturating_sub(max);
            if more > 0 {
                format!("{n}={} +{more}", shown.join("|"))
            } else {
                format!("{n}={}", shown.join("|"))
            }
        })
        .collect();
    parts.extend(g.view.unreduced.iter().map(|n| format!("{n}=(all)")));
    parts.join("; ")
}

/// The text report: one line per identity, then the findings.
pub(super) fn text_report(audit: &Audit) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let rows: Vec<[String; 5]> = audit
        .entries
        .iter()
        .filter_map(|e| {
            let g = audit.grant_of(e)?;
            let decision = match g.outcome.reason() {
                None => String::from("granted"),
                Some(r) => format!("denied ({})", r.code()),
            };
            let tables: Vec<String> = if g.is_granted() {
                g.view
                    .tables
                    .iter()
                    .map(|t| format!("{} {}/{}", t.name, t.rows, t.total))
                    .collect()
            } else {
                Vec::new()
            };
            Some([
                label(&e.identity),
                decision,
                g.access.map_or(String::new(), |a| a.as_str().to_string()),
                reduction_text(g, 4),
                tables.join(", "),
            ])
        })
        .collect();
    let header = ["IDENTITY", "DECISION", "ACCESS", "REDUCTION", "ROWS"].map(String::from);
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            std::iter::once(&header)
                .chain(&rows)
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let granted = audit
        .entries
        .iter()
        .filter(|e| audit.grant_of(e).is_some_and(|g| g.is_granted()))
        .count();
    let _ = writeln!(
        out,
        "\n{} identities: {granted} granted, {} denied; {} distinct grants",
        audit.entries.len(),
        audit.entries.len() - granted,
        audit.grants.len()
    );
    write_findings(&mut out, &audit.findings);
    out
}

/// The findings as text: severity, code, place, message and help.
pub(super) fn write_findings(out: &mut String, findings: &[Finding]) {
    use std::fmt::Write as _;
    if findings.is_empty() {
        let _ = writeln!(out, "\nno findings");
        return;
    }
    let _ = writeln!(out, "\nfindings");
    for f in findings {
        let at = f
            .location
            .as_ref()
            .map_or(String::new(), |l| format!(" at {l}"));
        let _ = writeln!(
            out,
            "  {:<7}  {}{at}: {}",
            f.severity.as_str(),
            f.code,
            f.message
        );
        let _ = writeln!(out, "           help: {}", f.help);
    }
}

/// One CSV row per identity: `userid,email,groups,decision,reason,access,
/// reduction,omitted` and `rows:TABLE` per table. Reduction is
/// `FIELD=v1|v2; FIELD=v`, unreduced fields `FIELD=(all)`.
pub(super) fn csv_text(audit: &Audit) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let tables: Vec<String> = audit
        .grants
        .first()
        .map(|g| g.view.tables.iter().map(|t| t.name.to_string()).collect())
        .unwrap_or_default();
    let mut header: Vec<String> = [
        "userid",
        "email",
        "groups",
        "decision",
        "reason",
        "access",
        "reduction",
        "omitted",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    header.extend(tables.iter().map(|t| format!("rows:{t}")));
    w.write_record(&header)?;
    for e in &audit.entries {
        let Some(g) = audit.grant_of(e) else { continue };
        let mut rec: Vec<String> = vec![
            e.identity
                .userid
                .as_ref()
                .map_or(String::new(), ToString::to_string),
            e.identity
                .email
                .as_ref()
                .map_or(String::new(), ToString::to_string),
            e.identity
                .groups
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(";"),
            g.decision().to_string(),
            g.outcome
                .reason()
                .map_or(String::new(), |r| r.code().to_string()),
            g.access.map_or(String::new(), |a| a.as_str().to_string()),
            reduction_text(g, usize::MAX),
            g.view.omitted.join(";"),
        ];
        for t in &tables {
            rec.push(g.view.rows(t).to_string());
        }
        w.write_record(&rec)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
