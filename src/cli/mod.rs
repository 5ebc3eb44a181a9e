//! Command-line front end: clap arguments become validated configuration,
//! the library does the work, results go to stdout and diagnostics to stderr.

mod preview;
#[cfg(feature = "serve")]
mod serve;

use std::process::ExitCode;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use section_access::load::Uppercase;

pub mod token;

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

/// How security values are upper-cased (SPEC §3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum UppercaseArg {
    /// Only INLINE tables loaded in section access (the observed engine).
    #[default]
    Inline,
    /// Every security value (what Qlik's help says).
    All,
}

impl From<UppercaseArg> for Uppercase {
    fn from(u: UppercaseArg) -> Self {
        match u {
            UppercaseArg::Inline => Uppercase::Inline,
            UppercaseArg::All => Uppercase::All,
        }
    }
}

/// Options every command that runs a script shares.
#[derive(Clone, Debug, Args)]
pub struct ScriptArgs {
    /// The load script (`.qvs`, or any text file).
    pub script: PathBuf,
    /// Map `lib://NAME/...` paths to a folder: `--lib NAME=DIR` (repeatable).
    #[arg(long = "lib", value_name = "NAME=DIR", value_parser = parse_lib)]
    pub libs: Vec<(String, PathBuf)>,
    /// Which security values are upper-cased.
    #[arg(long, value_enum, default_value_t)]
    pub uppercase: UppercaseArg,
    /// Skip statements that cannot run offline (SQL, QVD, …) with a warning
    /// instead of failing; the result is then marked approximate.
    #[arg(long)]
    pub allow_unsupported: bool,
}

fn parse_lib(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, dir)) if !name.trim().is_empty() && !dir.is_empty() => {
            Ok((name.trim().to_string(), PathBuf::from(dir)))
        }
        _ => Err(format!("expected `NAME=DIR`, got `{s}`")),
    }
}

/// Evaluate Qlik Section Access offline.
#[derive(Debug, Parser)]
#[command(name = "section-access", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect, verify or mint JSON Web Tokens (engine, Qlik Cloud, QSEoW).
    Token(token::TokenArgs),
    /// What one identity sees: decision, reasons, reduction, tables.
    Preview(preview::PreviewArgs),
    /// A local preview server with the engine's JWT handshake, and a web page.
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
}

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
    match cli.command {
        Command::Token(args) => token::run(args).into(),
        Command::Preview(args) => preview::run(&args).into(),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(args).into(),
    }
}
