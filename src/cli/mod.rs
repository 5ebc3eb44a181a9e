//! Command-line front end: clap arguments become validated configuration,
//! the library does the work, results go to stdout and diagnostics to stderr.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// What the process tells its caller (DESIGN.md "Exit codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Granted, valid, no findings.
    Ok = 0,
    /// Bad input: a script, file or token that could not be processed.
    Error = 1,
    /// Bad command line.
    Usage = 2,
    /// Denied or unauthorized.
    Denied = 3,
    /// Findings or failed expectations.
    Findings = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Output format shared by every command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text for a terminal.
    #[default]
    Text,
    /// Stable JSON (documented in the library's rustdoc).
    Json,
}

/// Evaluate Qlik Section Access offline.
#[derive(Debug, Parser)]
#[command(name = "section-access", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {}

/// Parses the command line, runs the command and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            let _ = e.print();
            return code.into();
        }
    };
    match cli.command {}
}
