//! `section-access preview`: what one identity sees.
//!
//! Runs the script, evaluates the identity and prints the decision, its
//! reasons and the reduced tables as a readable report, or the stable JSON
//! of [`section_access::access::report`] with `--format json`. `--out DIR`
//! writes each reduced table as CSV, omitted fields dropped.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use section_access::access::{Decision, Evaluator, Outcome, PreviewReport};
use section_access::bug::Bug;
use section_access::load::App;
use section_access::names::{Email, GroupName, Identity, UserId};

use section_access::jwt::Verification;

use super::token::{TokenOptions, verify_arg};
use super::{EvalArgs, Exit, Format, ScriptArgs};

/// Arguments of `preview`.
#[derive(Debug, Args)]
pub(super) struct PreviewArgs {
    #[command(flatten)]
    script: ScriptArgs,
    /// The user id (`USERID`; for Qlik Sense Enterprise `DIRECTORY\userid`).
    #[arg(long, required_unless_present_any = ["token", "email", "groups"])]
    user: Option<String>,
    /// A group of the user, compared with `GROUP` and `NTNAME` (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// The user's e-mail, compared with `USER.EMAIL`.
    #[arg(long)]
    email: Option<String>,
    /// Take the identity from a JSON Web Token (`TOKEN`, `@FILE` or `@-`),
    /// verified per `--profile` with `--secret`/`--key`/`--jwks`; an invalid
    /// token is `unauthorized` (the engine's 401) and nothing is evaluated.
    #[arg(long, value_name = "JWT", conflicts_with_all = ["user", "email", "groups"])]
    token: Option<String>,
    #[command(flatten)]
    token_options: TokenOptions,
    #[command(flatten)]
    eval: EvalArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Write each reduced table as `DIR/<table>.csv` (omitted fields dropped).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Rows of each table to show in the text report.
    #[arg(long, value_name = "N", default_value_t = 5)]
    rows: usize,
}

/// Runs `preview`.
pub(super) fn run(args: &PreviewArgs) -> Exit {
    let app = match args.script.load() {
        Ok(app) => app,
        Err(code) => return code,
    };
    let identity = match &args.token {
        None => Identity::new(
            args.user.as_deref().map(UserId::new),
            args.email.as_deref().map(Email::new),
            args.groups.iter().map(|g| GroupName::new(g)).collect(),
        ),
        Some(token) => match verify_arg(token, &args.token_options) {
            Ok((v, _)) => match v.identity {
                Some(id) if v.valid => id,
                _ => return unauthorized(&v, args.format),
            },
            Err(e) => {
                super::report_error(&e);
                return e.exit();
            }
        },
    };
    let opts = args.eval.options(args.script.uppercase);
    let decision = Evaluator::new(&app, opts).evaluate(&identity);
    if let Some(dir) = &args.out
        && let Err(e) = write_tables(&app, &decision, dir)
    {
        eprintln!("error: cannot write `{}`: {e}", dir.display());
        return Exit::Error;
    }
    let printed = match args.format {
        Format::Json => print_json(&app, &identity, &decision),
        Format::Text => print_text(&app, &identity, &decision, args.rows),
    };
    if let Err(e) = printed
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("error: {e}");
        return Exit::Error;
    }
    let code = if decision.outcome.is_granted() {
        Exit::Ok
    } else {
        Exit::Denied
    };
    super::leave(decision);
    super::leave(app);
    code
}

/// Reports a rejected token the way the engine answers it (401, before any
/// section access evaluation): decision `unauthorized`, the first failed
/// check as reason, every failed check in `notes`. The JSON keeps the keys
/// of the preview contract, with no identity.
fn unauthorized(v: &Verification, format: Format) -> Exit {
    let codes = v.codes();
    let reason = codes.first().cloned().unwrap_or_default();
    let text = match format {
        Format::Json => {
            let notes: Vec<serde_json::Value> = v
                .errors
                .iter()
                .map(|e| serde_json::json!({"code": e.code(), "message": e.to_string()}))
                .collect();
            let doc = serde_json::json!({
                "identity": null,
                "decision": "unauthorized",
                "reason": reason,
                "access": null,
                "matched_rows": [],
                "reduction": {},
                "omitted": [],
                "tables": {},
                "notes": notes,
            });
            format!("{doc:#}\n")
        }
        Format::Text => {
            let mut out = format!(
                "identity   (none: the token was rejected)\ndecision   unauthorized ({reason}): the engine answers 401 before section access is evaluated\n"
            );
            for e in &v.errors {
                out.push_str(&format!("  {}: {e}\n", e.code()));
                if let Some(help) = miette::Diagnostic::help(e) {
                    out.push_str(&format!("    help: {help}\n"));
                }
            }
            out
        }
    };
    super::emit(&text, Exit::Denied)
}

fn print_json(app: &App, identity: &Identity, decision: &Decision) -> io::Result<()> {
    let report = PreviewReport::new(app, identity, decision);
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report).map_err(io::Error::other)?;
    writeln!(out)
}

fn print_text(
    app: &App,
    identity: &Identity,
    decision: &Decision,
    max_rows: usize,
) -> io::Result<()> {
    let mut text = String::new();
    render_text(&mut text, app, identity, decision, max_rows).map_err(io::Error::other)?;
    io::stdout().lock().write_all(text.as_bytes())
}

/// The text report (pure, for tests).
pub(super) fn render_text(
    out: &mut String,
    app: &App,
    identity: &Identity,
    decision: &Decision,
    max_rows: usize,
) -> Result<(), Bug> {
    use std::fmt::Write as _;
    let who = identity.userid.as_ref().map_or("-", |u| u.as_str());
    let mut extra = Vec::new();
    if let Some(e) = &identity.email {
        extra.push(format!("email {e}"));
    }
    if !identity.groups.is_empty() {
        let g: Vec<&str> = identity.groups.iter().map(|g| g.as_str()).collect();
        extra.push(format!("groups {}", g.join(", ")));
    }
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" ({})", extra.join("; "))
    };
    let _ = writeln!(out, "identity   {who}{extra}");
    match decision.outcome {
        Outcome::Granted => {
            let level = decision.access.map_or("no section access", |a| a.as_str());
            let _ = writeln!(out, "decision   granted, {level}");
        }
        Outcome::Denied(r) => {
            let _ = writeln!(out, "decision   denied: {}", r.code());
        }
    }
    if decision.matched_rows.is_empty() {
        let _ = writeln!(out, "matched    no security row");
    }
    for (i, m) in decision.matched_rows.iter().enumerate() {
        let label = if i == 0 { "matched" } else { "" };
        let place = match (&m.file, m.line) {
            (Some(f), Some(l)) => format!(" at {}:{l}", display_path(f)),
            (None, Some(l)) => format!(" at line {l}"),
            _ => String::new(),
        };
        let dropped = if m.kept {
            ""
        } else {
            " (dropped: ACCESS is neither ADMIN nor USER)"
        };
        let _ = writeln!(out, "{label:<10} {} row {}{place}{dropped}", m.table, m.row);
    }
    for (i, r) in decision.reduction.iter().enumerate() {
        let label = if i == 0 { "reduction" } else { "" };
        let values: Vec<String> = r
            .values
            .iter()
            .filter_map(|&id| app.data.value(r.field, id))
            .map(|v| v.text().into_owned())
            .collect();
        let shown = if r.applied {
            values.join(", ")
        } else if decision.outcome
            == Outcome::Denied(section_access::access::DenyReason::StrictExclusion)
        {
            String::from("(nothing matches the data)")
        } else {
            String::from("(nothing matches the data: not applied)")
        };
        let _ = writeln!(out, "{label:<10} {} = {shown}", r.name);
    }
    if !decision.omitted.is_empty() {
        let names: Vec<&str> = decision.omitted.iter().map(|(_, n)| n.as_str()).collect();
        let _ = writeln!(out, "omitted    {}", names.join(", "));
    }
    let omitted = decision.omitted_ids();
    if let Some(tables) = decision.tables(&app.data, &omitted) {
        let _ = writeln!(out, "\ntables");
        for t in tables {
            let _ = writeln!(out, "  {}  {} → {} rows", t.name(), t.total(), t.count());
            if max_rows == 0 || t.count() == 0 {
                continue;
            }
            let header: Vec<String> = t.fields().iter().map(|f| f.to_string()).collect();
            let body: Vec<Vec<String>> = t
                .text_rows()
                .take(max_rows)
                .map(|r| r.map(|r| r.into_iter().map(|c| c.into_owned()).collect()))
                .collect::<Result<_, _>>()?;
            let widths: Vec<usize> = (0..header.len())
                .map(|i| {
                    std::iter::once(&header)
                        .chain(&body)
                        .filter_map(|row| row.get(i))
                        .map(|c| c.chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for row in std::iter::once(&header).chain(&body) {
                let cells: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .map(|(c, &w)| format!("{c:<w$}"))
                    .collect();
                let _ = writeln!(out, "    {}", cells.join("  ").trim_end());
            }
            if t.count() > body.len() {
                let _ = writeln!(out, "    … {} more", t.count() - body.len());
            }
        }
    }
    if decision.outcome == Outcome::Denied(section_access::access::DenyReason::ReducedToNothing)
        && let Some(reduced) = &decision.reduced
    {
        let _ = writeln!(out, "\ntables after reduction");
        for t in reduced.tables(&app.data, &omitted) {
            let _ = writeln!(out, "  {}  {} → {} rows", t.name(), t.total(), t.count());
        }
    }
    if !decision.notes.is_empty() {
        let _ = writeln!(out, "\nnotes");
        for n in &decision.notes {
            let _ = writeln!(out, "  - {} [{}]", n.message, n.code);
        }
    }
    Ok(())
}

fn display_path(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    )
}

fn write_tables(app: &App, decision: &Decision, dir: &Path) -> io::Result<()> {
    let omitted = decision.omitted_ids();
    let Some(tables) = decision.tables(&app.data, &omitted) else {
        return Ok(());
    };
    std::fs::create_dir_all(dir)?;
    for t in tables {
        let name: String = t
            .name()
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut bytes = Vec::new();
        t.write_csv(&mut bytes).map_err(io::Error::other)?;
        section_access::atomic::write(&dir.join(format!("{name}.csv")), &bytes)?;
    }
    Ok(())
}
