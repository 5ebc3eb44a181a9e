//! Command-line front end: clap arguments become validated configuration,
//! the library does the work, results go to stdout and diagnostics to stderr.

mod audit;
mod check;
mod diff;
mod export;
mod preview;
#[cfg(feature = "serve")]
mod serve;
mod test;
pub(crate) mod token;
mod who;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use section_access::access::{Options, Product};
use section_access::bug::Bug;
use section_access::load::{App, LoadOptions, Uppercase, run_file};

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
    /// Stopped by Ctrl-C (SIGINT), as shells report it (128 + 2).
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Output format shared by every command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
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
pub(crate) struct ScriptArgs {
    /// The load script (`.qvs`, or any text file).
    pub script: PathBuf,
    /// Map `lib://NAME/...` paths to a folder: `--lib NAME=DIR` (repeatable).
    #[arg(long = "lib", value_name = "NAME=DIR", value_parser = parse_lib)]
    pub libs: Vec<(String, PathBuf)>,
    /// Read files the script names by a server path from a folder here:
    /// `--map-path 'C:\Data=DIR'`, `--map-path '\\srv\share=DIR'`
    /// (prefix compared case-insensitively, `\` and `/` alike; repeatable).
    #[arg(long = "map-path", value_name = "PREFIX=DIR", value_parser = parse_map_path)]
    pub map_paths: Vec<(String, PathBuf)>,
    /// Which security values are upper-cased.
    #[arg(long, value_enum, default_value_t)]
    pub uppercase: UppercaseArg,
    /// Skip statements that cannot run offline (SQL, Excel, …) and missing
    /// files with a warning instead of failing; the result is then marked
    /// approximate.
    #[arg(long)]
    pub allow_unsupported: bool,
    /// Let `STORE` write its files where the script says (by default a
    /// stored file is only kept for later loads in the same run).
    #[arg(long)]
    pub write_stores: bool,
    /// The load script of the app a `BINARY` statement loads: run first, so
    /// its tables and section access are inherited (an app file cannot be
    /// read offline).
    #[arg(long, value_name = "PARENT.qvs")]
    pub binary_script: Option<PathBuf>,
    /// Send the `SQL` of the connection the script names NAME
    /// (`LIB CONNECT TO 'NAME'`, or an ODBC/OLEDB data source) to a
    /// database: `--connect NAME=postgresql://USER:PASSWORD@HOST:PORT/DB`,
    /// `NAME=sqlite:PATH`, or `NAME=env:VAR` to read the URL from an
    /// environment variable (repeatable). Statements run read-only.
    #[arg(long = "connect", value_name = "NAME=URL", value_parser = parse_connect)]
    pub connect: Vec<(String, String)>,
    /// Keep every SQL result set in DIR (QVD files and `manifest.json`),
    /// for `--replay`.
    #[arg(long, value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Answer `SQL` statements from a recording made with `--record`, with
    /// no database.
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
    /// The most rows a JOIN, KEEP, AUTOGENERATE, WHILE or reshaping prefix
    /// may make; a statement that would make more stops with an error
    /// before building anything (default: what fits in half the memory).
    #[arg(long, value_name = "N")]
    pub max_rows: Option<usize>,
    /// The most passes a `FOR` or `DO` loop may make (default: a million).
    #[arg(long, value_name = "N")]
    pub max_iterations: Option<usize>,
}

/// `KEY=DIR` of `--lib` and `--map-path` (`key` names the key in the
/// message); the key trimmed, the folder as given.
fn key_and_dir(s: &str, key: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((k, dir)) if !k.trim().is_empty() && !dir.is_empty() => {
            Ok((k.trim().to_string(), PathBuf::from(dir)))
        }
        _ => Err(format!("expected `{key}=DIR`, got `{s}`")),
    }
}

/// `NAME=URL` of a SQL source, or, with no `NAME=`, the database URL of
/// `verify` (kept under the empty name).
fn parse_connect(s: &str) -> Result<(String, String), String> {
    let bare = s.starts_with("postgresql://")
        || s.starts_with("postgres://")
        || (s.starts_with("env:") && !s.contains('='));
    if bare {
        return Ok((String::new(), s.to_string()));
    }
    section_access::load::parse_connect(s)
}

fn parse_lib(s: &str) -> Result<(String, PathBuf), String> {
    key_and_dir(s, "NAME")
}

fn parse_map_path(s: &str) -> Result<(String, PathBuf), String> {
    key_and_dir(s, "PREFIX")
}

impl ScriptArgs {
    /// The runner's options for these arguments.
    pub(crate) fn load_options(&self) -> LoadOptions {
        LoadOptions {
            libs: self.libs.iter().cloned().collect(),
            map_paths: self.map_paths.clone(),
            allow_unsupported: self.allow_unsupported,
            write_stores: self.write_stores,
            binary_script: self.binary_script.clone(),
            connect: self
                .connect
                .iter()
                .filter(|(name, _)| !name.is_empty())
                .cloned()
                .collect(),
            record: self.record.clone(),
            replay: self.replay.clone(),
            max_rows: self.max_rows,
            max_iterations: self.max_iterations,
        }
    }

    /// Runs the script, reporting a load error on stderr.
    pub(crate) fn load(&self) -> Result<App, Exit> {
        self.load_path(&self.script)
    }

    /// Runs the script at `path` (e.g. the other side of a diff) with these
    /// options, reporting a load error on stderr.
    pub(crate) fn load_path(&self, path: &Path) -> Result<App, Exit> {
        if let Some(url) = self.database() {
            eprintln!(
                "error: `--connect {}` names no connection: a SQL source is `--connect NAME=URL` (a bare URL is the database of `verify`)",
                section_access::secrets::masked(url)
            );
            return Err(Exit::Usage);
        }
        self.load_database_path(path)
    }

    /// The bare `--connect URL` (the database of `verify`), if given.
    pub(crate) fn database(&self) -> Option<&str> {
        self.connect
            .iter()
            .find(|(name, _)| name.is_empty())
            .map(|(_, url)| url.as_str())
    }

    /// [`ScriptArgs::load_path`] for `verify`, whose bare `--connect URL`
    /// is its database.
    pub(crate) fn load_database_path(&self, path: &Path) -> Result<App, Exit> {
        // A spinner while a long load runs, on a terminal only.
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        spinner.set_message(format!("loading {}", path.display()));
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            spinner.set_style(style);
        }
        // No ticking thread when nothing is drawn (stderr piped).
        if !spinner.is_hidden() {
            spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        }
        let loaded = run_file(path, &self.load_options());
        spinner.finish_and_clear();
        loaded.map_err(|e| {
            report_error(&e);
            Exit::Error
        })
    }
}

/// Leaves a command's large structures (a loaded app, an audit) to the
/// operating system at exit: freeing millions of small pieces one by one
/// takes a tenth of a second on a large app, for nothing.
pub(crate) fn leave<T>(value: T) {
    std::mem::forget(value);
}

/// `--product`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProductArg {
    /// Qlik Sense, Qlik Cloud, Qlik Core.
    #[default]
    Sense,
    /// QlikView.
    Qlikview,
}

/// `on` or `off`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnOff {
    /// Enabled.
    #[default]
    On,
    /// Disabled.
    Off,
}

/// Evaluation options shared by `audit`, `test` and `diff`.
#[derive(Clone, Debug, Args)]
pub(crate) struct EvalArgs {
    /// Whose rules apply.
    #[arg(long, value_enum, default_value_t)]
    pub product: ProductArg,
    /// QlikView's strict exclusion switch (always on for Sense).
    #[arg(long, value_enum, default_value_t)]
    pub strict_exclusion: OnOff,
    /// QlikView on a server: ADMIN rows are treated as USER rows.
    #[arg(long)]
    pub server: bool,
}

impl EvalArgs {
    /// The evaluation options, with the script's `--uppercase` mode.
    pub(crate) fn options(&self, uppercase: UppercaseArg) -> Options {
        Options {
            product: match self.product {
                ProductArg::Sense => Product::Sense,
                ProductArg::Qlikview => Product::QlikView,
            },
            strict_exclusion: self.strict_exclusion == OnOff::On,
            server: self.server,
            uppercase: uppercase.into(),
        }
    }
}

/// When to colour diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The `--color` choice, set once in [`main`].
static COLOR: OnceLock<Color> = OnceLock::new();

/// True when diagnostics on stderr may use colour.
pub(crate) fn colour() -> bool {
    match COLOR.get().copied().unwrap_or_default() {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// A panic as the error it is: bad input never panics (it gets a located
/// diagnostic), so a panic is one of our invariants that did not hold, an
/// index or lookup proven in range that was not. It is reported as a
/// [`Bug`] with where it happened, and the command exits 1 like any other
/// error instead of with a panic's message and code.
fn bug_of_panic(message: Option<&str>, at: Option<&std::panic::Location<'_>>) -> Bug {
    let what = message.unwrap_or("a panic without a message");
    Bug::new(match at {
        Some(at) => format!("{what} (at {}:{})", at.file(), at.line()),
        None => what.to_string(),
    })
}

/// Renders a diagnostic with miette on stderr: caret snippet, help line,
/// colour per `--color`.
pub(crate) fn report_error(e: &(dyn miette::Diagnostic + Send + Sync + 'static)) {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if colour() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    match GraphicalReportHandler::new_themed(theme).render_report(&mut out, e) {
        Ok(()) => eprint!("{out}"),
        Err(_) => eprintln!("error: {e}"),
    }
}

/// Writes a result to stdout and returns `code`; a closed pipe (`| head`)
/// is not an error.
pub(crate) fn emit(text: &str, code: Exit) -> Exit {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => {
            eprintln!("error: cannot write the result: {e}");
            Exit::Error
        }
    }
}

/// The version `--version` prints: the package's, and the git commit the
/// binary was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SECTION_ACCESS_COMMIT"),
    ")"
);

/// Evaluate Qlik Section Access offline.
#[derive(Debug, Parser)]
#[command(name = "section-access", version = VERSION, about, long_about = None)]
pub(crate) struct Cli {
    /// When to colour diagnostics on stderr (`auto` honours `NO_COLOR`).
    #[arg(long, value_enum, default_value_t, global = true)]
    color: Color,
    /// Threads to work on (default: one per core of the machine).
    #[arg(
        long,
        global = true,
        env = "SECTION_ACCESS_THREADS",
        value_name = "N",
        value_parser = parse_threads
    )]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and run a script: sections, tables, reduction fields, findings.
    Check(check::CheckArgs),
    /// Inspect, verify or mint JSON Web Tokens (engine, Qlik Cloud, QSEoW).
    Token(token::TokenArgs),
    /// What one identity sees: decision, reasons, reduction, tables.
    Preview(preview::PreviewArgs),
    /// Every identity: decision, reduction, rows per table, and the findings.
    Audit(audit::AuditArgs),
    /// Who sees rows with given values (`FIELD=VALUE`), or a given row, and
    /// through which security rows; `--denied`: who does not and why.
    Who(who::WhoArgs),
    /// Check an expectation file (TOML `[[case]]` tables) against a script.
    Test(test::TestArgs),
    /// Who gained or lost what between two versions of a script.
    Diff(diff::DiffArgs),
    /// The rules and data as PostgreSQL tables with row-level security.
    Export(export::ExportArgs),
    /// Print a completion script for a shell (bash, zsh, fish, powershell,
    /// elvish): e.g. `section-access completions bash > /etc/bash_completion.d/section-access`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `section-access man | man -l -`.
    Man,
    /// Export into a real PostgreSQL server and prove it gives every
    /// identity what the audit gives (exit 4 on any difference).
    #[cfg(feature = "postgres")]
    Verify(export::VerifyArgs),
    /// A local preview server with the engine's JWT handshake, and a web page.
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
}

/// The most workers `--threads` asks for: a mistyped count (a million)
/// would otherwise spend minutes starting threads before any work.
const MAX_THREADS: usize = 1024;

/// `--threads N`: 1 to [`MAX_THREADS`].
fn parse_threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) if n > MAX_THREADS => Err(format!("must be at most {MAX_THREADS}")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "expected a number of threads (1 to {MAX_THREADS}), got `{s}`"
        )),
    }
}

/// Builds the global rayon pool once: `threads` workers, or rayon's own
/// choice (one per core) when not given. The only place a thread count is
/// chosen: everything parallel runs in this pool.
fn build_pool(threads: Option<usize>) -> Result<(), rayon::ThreadPoolBuildError> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        pool = pool.num_threads(n);
    }
    pool.build_global()
}

/// Parses the command line, runs the command and maps the outcome to an exit code.
pub(crate) fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        // A third-party reader failing on bad input: the library turns it
        // into a located error.
        if section_access::bug::panic_is_contained() {
            return;
        }
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        report_error(&bug_of_panic(message, info.location()));
        std::process::exit(Exit::Error as i32);
    }));
    // Ctrl-C stops any command at once: the output files being written are
    // removed (those complete stay), and the exit code says it was stopped.
    let _ = ctrlc::set_handler(|| {
        section_access::atomic::remove_in_flight();
        std::process::exit(Exit::Interrupted as i32);
    });
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
    let _ = COLOR.set(cli.color);
    if let Err(e) = build_pool(cli.threads) {
        eprintln!("error: cannot start the worker threads: {e}");
        return Exit::Error.into();
    }
    let command = match cli.command {
        // The server runs its own (tokio) threads, which hand their work
        // to the pool: it must not hold a worker of the pool itself.
        #[cfg(feature = "serve")]
        Command::Serve(args) => return serve::run(args).into(),
        command => command,
    };
    // A command runs on a worker of the pool (rayon::scope from outside
    // the pool runs there): its sequential and parallel work then share
    // threads, and so the allocator's per-thread arenas (the main thread's
    // own arena held 17 MB more on the large audit).
    rayon::scope(|_| run(command)).into()
}

/// `section-access man`: the manual page of the command line, in roff.
fn man() -> Exit {
    let page = clap_mangen::Man::new(Cli::command());
    let mut out = Vec::new();
    if let Err(e) = page.render(&mut out) {
        eprintln!("error: cannot render the manual page: {e}");
        return Exit::Error;
    }
    match std::io::stdout().write_all(&out) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: cannot write the manual page: {e}");
            Exit::Error
        }
    }
}

/// Runs a command other than `serve`.
fn run(command: Command) -> Exit {
    match command {
        Command::Check(args) => check::run(&args),
        Command::Token(args) => token::run(args),
        Command::Preview(args) => preview::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Who(args) => who::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "section-access", &mut std::io::stdout());
            Exit::Ok
        }
        Command::Man => man(),
        #[cfg(feature = "postgres")]
        Command::Verify(args) => export::verify(&args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_reported_as_a_bug_with_where_it_happened() {
        let at = std::panic::Location::caller();
        let bug = bug_of_panic(
            Some("index out of bounds: the len is 3 but the index is 7"),
            Some(at),
        );
        assert_eq!(
            bug.what(),
            format!(
                "index out of bounds: the len is 3 but the index is 7 (at {}:{})",
                at.file(),
                at.line()
            )
        );
        assert!(bug.to_string().starts_with("internal error: "));
        assert_eq!(bug_of_panic(None, None).what(), "a panic without a message");
    }
}
