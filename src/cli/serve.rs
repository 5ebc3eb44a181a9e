//! `section-access serve`: the local preview server and its web page.
//!
//! Loads the script, listens on loopback (port 8080 unless `--port`), prints
//! the page's URL and serves until interrupted. Tokens sent as
//! `Authorization: Bearer` are verified with the same options as
//! `token verify`; without `--now` the clock is read at every request.
//! The routes and their JSON are documented in `section_access::serve`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use section_access::load::LoadOptions;
use section_access::serve::{Config, ReloadEvent, Server, TokenPolicy};

use super::report_error;
use super::token::TokenOptions;
use super::{EvalArgs, Exit, ScriptArgs};

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    script: ScriptArgs,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on. Anything but loopback shows the data to the
    /// network: only do that on purpose.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Reload when the script or a file it reads changes (polled twice a
    /// second); a broken edit keeps the last good model and shows the error.
    #[arg(long)]
    watch: bool,
    #[command(flatten)]
    eval: EvalArgs,
    #[command(flatten)]
    tokens: TokenOptions,
}

/// How often `--watch` looks at the files.
const POLL: Duration = Duration::from_millis(500);

/// Runs `serve` until the process is interrupted.
pub(super) fn run(args: ServeArgs) -> Exit {
    // `resolve` also fixes a clock; the server keeps only `--now` and reads
    // the system clock per request otherwise.
    let (profile, keys, _, leeway) = match args.tokens.resolve() {
        Ok(r) => r,
        Err(e) => {
            let exit = e.exit();
            report_error(&e);
            return exit;
        }
    };
    let config = Config {
        script: args.script.script.clone(),
        load: LoadOptions {
            libs: args.script.libs.iter().cloned().collect(),
            map_paths: args.script.map_paths.clone(),
            allow_unsupported: args.script.allow_unsupported,
            write_stores: args.script.write_stores,
            max_rows: args.script.max_rows,
            max_iterations: args.script.max_iterations,
        },
        access: args.eval.options(args.script.uppercase),
        tokens: TokenPolicy {
            profile,
            keys,
            now: args.tokens.now,
            leeway,
        },
        watch: args.watch.then_some(POLL),
        on_reload: Some(Arc::new(|event: &ReloadEvent| match event {
            ReloadEvent::Loaded { generation } => {
                eprintln!("reloaded (generation {generation})");
            }
            ReloadEvent::Failed { rendered } => {
                eprintln!("reload failed; still serving the last good model\n{rendered}");
            }
        })),
    };
    let addr = SocketAddr::new(args.bind, args.port);
    let server = match Server::start(addr, config) {
        Ok(s) => s,
        Err(e) => {
            report_error(&e);
            return Exit::Error;
        }
    };
    let local = server.addr();
    if !local.ip().is_loopback() {
        eprintln!(
            "warning: listening on {local}: anyone who reaches this address can preview the data"
        );
    }
    // The URL is the one line on stdout, so a script can read it.
    let host = if local.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port())
    } else {
        local
    };
    println!("http://{host}/");
    eprintln!(
        "serving {} — press Ctrl-C to stop",
        args.script.script.display()
    );
    match server.wait() {
        Ok(()) => Exit::Ok,
        Err(e) => {
            report_error(&e);
            Exit::Error
        }
    }
}
