//! `section-access diff`: who gained or lost what between two script versions.
//!
//! Audits both versions over the same identities and prints, per identity
//! whose answer changed, the decision, level, reduction values, rows per
//! table and omitted fields, or the JSON of
//! [`section_access::audit::diff::Diff`]. `--fail-on-gain` exits 4 when any
//! identity gained access (the gain is defined in that module), a gate for
//! pull requests to a load script.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use section_access::audit::diff::{Diff, diff};

use super::EvalArgs;
use super::audit::{extra_identities, progress};
use super::{Exit, Format, ScriptArgs, UppercaseArg};

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub(super) struct DiffArgs {
    /// The old version of the load script.
    old: PathBuf,
    /// The new version of the load script.
    new: PathBuf,
    /// Map `lib://NAME/...` paths to a folder: `--lib NAME=DIR` (repeatable).
    #[arg(long = "lib", value_name = "NAME=DIR", value_parser = super::parse_lib)]
    libs: Vec<(String, PathBuf)>,
    /// Read server paths from a folder here: `--map-path 'C:\Data=DIR'` (repeatable).
    #[arg(long = "map-path", value_name = "PREFIX=DIR", value_parser = super::parse_map_path)]
    map_paths: Vec<(String, PathBuf)>,
    /// Send the `SQL` of connection NAME to a database:
    /// `--connect NAME=postgresql://…`, `NAME=sqlite:PATH`, `NAME=env:VAR`
    /// (repeatable; both versions read the same databases).
    #[arg(long = "connect", value_name = "NAME=URL", value_parser = super::parse_connect)]
    connect: Vec<(String, String)>,
    /// Answer `SQL` statements of both versions from a recording made
    /// with `--record`.
    #[arg(long, value_name = "DIR")]
    replay: Option<PathBuf>,
    /// Which security values are upper-cased.
    #[arg(long, value_enum, default_value_t)]
    uppercase: UppercaseArg,
    /// Skip statements that cannot run offline with a warning.
    #[arg(long)]
    allow_unsupported: bool,
    /// The load script of the app a `BINARY` statement loads (both versions).
    #[arg(long, value_name = "PARENT.qvs")]
    binary_script: Option<PathBuf>,
    #[command(flatten)]
    eval: EvalArgs,
    /// More identities: a CSV with a header `userid,email,groups`.
    #[arg(long, value_name = "FILE.csv")]
    identities: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Exit 4 when any identity gained access.
    #[arg(long)]
    fail_on_gain: bool,
}

/// Runs `diff`.
pub(super) fn run(args: &DiffArgs) -> Exit {
    let script = ScriptArgs {
        script: args.old.clone(),
        libs: args.libs.clone(),
        map_paths: args.map_paths.clone(),
        uppercase: args.uppercase,
        allow_unsupported: args.allow_unsupported,
        // Two versions of a script would write the same files.
        write_stores: false,
        binary_script: args.binary_script.clone(),
        connect: args.connect.clone(),
        record: None,
        replay: args.replay.clone(),
        max_rows: None,
        max_iterations: None,
    };
    let old = match script.load_path(&args.old) {
        Ok(a) => a,
        Err(c) => return c,
    };
    let new = match script.load_path(&args.new) {
        Ok(a) => a,
        Err(c) => return c,
    };
    let extra = match extra_identities(args.identities.as_deref()) {
        Ok(ids) => ids,
        Err(code) => return code,
    };
    let opts = args.eval.options(args.uppercase);
    let tick = progress();
    let d = diff(&old, &new, &opts, &extra, &tick);
    let text = match args.format {
        Format::Json => match serde_json::to_string_pretty(&d) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Error;
            }
        },
        Format::Text => render(&d),
    };
    if let Err(e) = io::stdout().lock().write_all(text.as_bytes())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("error: {e}");
        return Exit::Error;
    }
    if args.fail_on_gain && d.summary.gained > 0 {
        Exit::Findings
    } else {
        Exit::Ok
    }
}

fn state(s: &section_access::audit::diff::State) -> String {
    match (s.reason, s.access) {
        (Some(r), _) => format!("denied ({r})"),
        (None, Some(a)) => format!("granted {}", a.as_str()),
        (None, None) => String::from("granted"),
    }
}

/// The text report.
pub(super) fn render(d: &Diff) -> String {
    let mut out = String::new();
    for i in &d.identities {
        let tag = match (i.gained, i.lost) {
            (true, true) => "GAINED+LOST",
            (true, false) => "GAINED",
            (false, true) => "LOST",
            (false, false) => "CHANGED",
        };
        let _ = writeln!(out, "{tag:<11} {}", i.label());
        if i.old != i.new {
            let _ = writeln!(
                out,
                "            access: {} → {}",
                state(&i.old),
                state(&i.new)
            );
        }
        for (f, c) in &i.reduction {
            if !c.added.is_empty() {
                let _ = writeln!(out, "            {f} + {}", c.added.join(", "));
            }
            if !c.removed.is_empty() {
                let _ = writeln!(out, "            {f} − {}", c.removed.join(", "));
            }
        }
        for (t, r) in &i.rows {
            let _ = writeln!(out, "            rows of {t}: {} → {}", r.old, r.new);
        }
        if !i.omitted.added.is_empty() {
            let _ = writeln!(
                out,
                "            now omitted: {}",
                i.omitted.added.join(", ")
            );
        }
        if !i.omitted.removed.is_empty() {
            let _ = writeln!(
                out,
                "            no longer omitted: {}",
                i.omitted.removed.join(", ")
            );
        }
    }
    let s = d.summary;
    let _ = writeln!(
        out,
        "{}{} identities compared: {} changed, {} gained, {} lost",
        if d.identities.is_empty() { "" } else { "\n" },
        s.identities,
        s.changed,
        s.gained,
        s.lost
    );
    out
}
