//! `section-access test`: check an expectation file against a script.
//!
//! Each `[[case]]` of the TOML file (format in
//! [`section_access::audit::expect`]) is evaluated and printed as `PASS`,
//! `FAIL` with expected-vs-got lines, or `ERROR`; `--junit FILE` also writes
//! JUnit XML for CI. Exits 0 when every case passes, 4 otherwise, 1 when the
//! script or the expectation file cannot be read.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use section_access::access::Evaluator;
use section_access::audit::expect::{CaseResult, junit, read_suite, run_suite};

use super::EvalArgs;
use super::{Exit, ScriptArgs};

/// Arguments of `test`.
#[derive(Debug, Args)]
pub(super) struct TestArgs {
    #[command(flatten)]
    script: ScriptArgs,
    /// The expectation file (TOML, `[[case]]` tables).
    expectations: PathBuf,
    #[command(flatten)]
    eval: EvalArgs,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// Runs `test`.
pub(super) fn run(args: &TestArgs) -> Exit {
    let suite = match read_suite(&args.expectations) {
        Ok(s) => s,
        Err(e) => {
            super::report_error(&e);
            return Exit::Error;
        }
    };
    let app = match args.script.load() {
        Ok(app) => app,
        Err(code) => return code,
    };
    let ev = Evaluator::new(&app, args.eval.options(args.script.uppercase));
    let results = run_suite(&app, &ev, &suite);
    if let Some(path) = &args.junit {
        let name = args
            .expectations
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        if let Err(e) = section_access::atomic::write(path, junit(&name, &results).as_bytes()) {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            return Exit::Error;
        }
    }
    let text = render(&results);
    if let Err(e) = io::stdout().lock().write_all(text.as_bytes())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("error: {e}");
        return Exit::Error;
    }
    if results.iter().all(CaseResult::passed) {
        Exit::Ok
    } else {
        Exit::Findings
    }
}

/// The text report.
pub(super) fn render(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for r in results {
        let tag = match (&r.error, r.mismatches.is_empty()) {
            (Some(_), _) => "ERROR",
            (None, true) => "PASS ",
            (None, false) => "FAIL ",
        };
        let _ = writeln!(out, "{tag} {} ({})", r.name, r.identity);
        for line in r.details().lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let errors = results.iter().filter(|r| r.error.is_some()).count();
    let failed = results.len() - passed - errors;
    let _ = writeln!(
        out,
        "\n{} case{}: {passed} passed, {failed} failed, {errors} error{}",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" }
    );
    out
}
