//! The local preview server behind `section-access serve` (feature `serve`).
//!
//! Loads a script once (and again whenever one of the files it read changes,
//! with [`Config::watch`]), then answers over HTTP like the engine answers a
//! client: a request carrying `Authorization: Bearer <JWT>` is verified per
//! the configured [`Profile`] first, and a bad, expired or (mode 2) unsigned
//! token gets **401** with `WWW-Authenticate: Bearer error="invalid_token"`
//! before section access is looked at. Typed identities (a JSON body) skip the
//! token step: that is the preview part.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the web page (embedded; no network needed) |
//! | `GET /api/status` | script, generation, load error, token profile |
//! | `GET /api/identities` | `{"identities": [{"userid", "email", "groups", "label"}]}` |
//! | `POST /api/preview` | body `{"userid", "email", "groups"}` or a Bearer token → the preview JSON of [`crate::access::report`] |
//! | `GET /api/tables/{name}?userid=&email=&group=&offset=&limit=` | `{"table", "total", "rows", "offset", "limit", "fields", "data": [[…]]}` (or a Bearer token instead of the query identity) |
//! | `GET /api/audit` | `{"tables", "identities": [...], "findings": [...]}` |
//! | `GET /api/findings` | `{"findings": [...]}` |
//! | `GET /api/who?field=&value=[&field=&value=…]` or `?table=&row=`, `&denied=1` | the answer of [`crate::audit::who`] |
//! | `GET /api/explain?userid=&email=&group=` | `{"fields": [{"name", "kind", "values": [{"value", "state"}], "more"}], "script": [{"file", "lines": [{"line", "text", "matched", "kept"}]}]}` (or a Bearer token) |
//!
//! Errors are JSON `{"error": code, "message": text}`: 400 for a bad
//! request, 401 for a token (with `"errors": [codes]`), 403 for a denied
//! identity's rows, 404 for an unknown table, 413 for a body over
//! [`MAX_BODY`], 503 while no script has loaded. The model sits behind an
//! `Arc` swapped under a lock, so requests run concurrently and a reload
//! never blocks them; a broken edit keeps the last good model and its error
//! shows in `/api/status`.

mod api;
pub mod catalog;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use miette::Diagnostic;
use rayon::prelude::*;

use crate::access::{Decision, Evaluator};
use crate::model::FieldId;
use crate::reduce::PerValue;
use thiserror::Error;

use crate::access::Options;
use crate::jwt::{Keys, Profile};
use crate::load::{App, LoadError, LoadOptions, run_file};
use crate::names::Identity;
use crate::script::source::SourceId;

/// Request bodies larger than this (64 KiB) get 413.
pub const MAX_BODY: usize = 64 * 1024;

/// Rows per page of `/api/tables` when `limit` is not given.
pub const DEFAULT_PAGE: usize = 100;

/// The largest `limit` of `/api/tables`.
pub const MAX_PAGE: usize = 1000;

/// How tokens are verified: the profile, its keys and the clock.
#[derive(Clone, Debug)]
pub struct TokenPolicy {
    /// Which Qlik product reads the token.
    pub profile: Profile,
    /// The keys to check signatures with.
    pub keys: Keys,
    /// A fixed time (seconds since 1970); `None` reads the system clock at
    /// every request.
    pub now: Option<i64>,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    pub leeway: u64,
}

impl TokenPolicy {
    /// The time a token is checked against, read per request.
    fn now(&self) -> i64 {
        self.now.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        })
    }
}

/// Told to the caller after every reload (for a log line on a terminal).
#[derive(Clone, Debug)]
pub enum ReloadEvent {
    /// The script loaded; the new model serves from now on.
    Loaded {
        /// Generation of the new model (1 is the first load).
        generation: u64,
    },
    /// The script failed to load; the last good model keeps serving.
    Failed {
        /// The error, rendered without colour.
        rendered: String,
    },
}

/// Called after every reload.
pub type ReloadHook = Arc<dyn Fn(&ReloadEvent) + Send + Sync>;

/// What to serve.
#[derive(Clone)]
pub struct Config {
    /// The load script.
    pub script: PathBuf,
    /// How to run it.
    pub load: LoadOptions,
    /// How to evaluate identities.
    pub access: Options,
    /// How to verify Bearer tokens.
    pub tokens: TokenPolicy,
    /// Poll the script and every file it read at this interval and reload on
    /// a change; `None` loads once. With a watch, a script that fails its
    /// first load still starts the server (the page shows the error).
    pub watch: Option<Duration>,
    /// Called after each reload.
    pub on_reload: Option<ReloadHook>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("script", &self.script)
            .field("access", &self.access)
            .field("watch", &self.watch)
            .finish_non_exhaustive()
    }
}

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on `{addr}`: {reason}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        reason: String,
    },
    /// The script failed its first load (without a watch).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The async runtime could not start.
    #[error("cannot start the server: {0}")]
    Runtime(String),
}

// Written by hand: `LoadError` has an inherent `code` that the derive's
// `transparent` would call instead of the trait's.
impl Diagnostic for ServeError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            ServeError::Bind { .. } => Some(Box::new("serve::bind")),
            ServeError::Load(e) => Diagnostic::code(e),
            ServeError::Runtime(_) => Some(Box::new("serve::runtime")),
        }
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            ServeError::Bind { .. } => Some(Box::new(
                "choose another `--port`, or `--port 0` for any free port",
            )),
            ServeError::Load(e) => Diagnostic::help(e),
            ServeError::Runtime(_) => None,
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        match self {
            ServeError::Load(e) => Diagnostic::source_code(e),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        match self {
            ServeError::Load(e) => Diagnostic::labels(e),
            _ => None,
        }
    }
}

/// A script load that failed, as the page and `/api/status` show it.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Problem {
    /// Stable code, e.g. `load::parse`.
    code: &'static str,
    /// The message.
    message: String,
    /// `file:line:column`.
    location: String,
    /// The whole diagnostic with its snippet, without colour.
    rendered: String,
    /// When it happened (seconds since 1970).
    at: i64,
}

impl Problem {
    fn new(e: &LoadError) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
            location: e.location().to_string(),
            rendered: render(e),
            at: unix_now(),
        }
    }
}

/// Renders a diagnostic as plain text with its snippet.
pub fn render(e: &dyn Diagnostic) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let mut out = String::new();
    match GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, e)
    {
        Ok(()) => out,
        Err(_) => e.to_string(),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A file's modification time and length, to notice edits.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// One successful load and what is derived from it.
pub(crate) struct Loaded {
    pub(crate) app: App,
    pub(crate) generation: u64,
    pub(crate) loaded_at: i64,
    pub(crate) identities: Vec<Identity>,
    /// The audit, computed on first request.
    pub(crate) audit: OnceLock<Arc<catalog::Audited>>,
    /// Per reduction field, row counts for selections on it alone (when
    /// exact for the model): what lets a preview skip the reduction.
    /// Made on the first preview.
    pub(crate) per_value: OnceLock<Vec<(FieldId, Option<PerValue>)>>,
    /// Files the run read, with their stamps when it started.
    files: Vec<(PathBuf, Stamp)>,
}

/// What is being served right now.
#[derive(Default)]
pub(crate) struct Current {
    pub(crate) loaded: Option<Arc<Loaded>>,
    pub(crate) error: Option<Problem>,
    /// Incremented by every load attempt that produced a model.
    generation: u64,
}

/// Shared by every request.
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) current: RwLock<Current>,
    /// True when the server listens on a loopback address only (then the
    /// `Host` header must name loopback too: no DNS rebinding).
    pub(crate) loopback: bool,
}

impl State {
    pub(crate) fn snapshot(&self) -> (Option<Arc<Loaded>>, Option<Problem>, u64) {
        let cur = self.current.read().unwrap_or_else(PoisonError::into_inner);
        (cur.loaded.clone(), cur.error.clone(), cur.generation)
    }

    /// Loads the script and installs the result: a new model, or the error
    /// next to the last good model.
    fn reload(&self) -> ReloadEvent {
        let script_stamp = stamp(&self.config.script);
        let result = run_file(&self.config.script, &self.config.load);
        let mut cur = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let event = match result {
            Ok(app) => {
                cur.generation += 1;
                let loaded = build(app, &self.config, cur.generation, script_stamp);
                cur.loaded = Some(Arc::new(loaded));
                cur.error = None;
                ReloadEvent::Loaded {
                    generation: cur.generation,
                }
            }
            Err(e) => {
                let problem = Problem::new(&e);
                let rendered = problem.rendered.clone();
                cur.error = Some(problem);
                ReloadEvent::Failed { rendered }
            }
        };
        drop(cur);
        if let Some(hook) = &self.config.on_reload {
            hook(&event);
        }
        event
    }

    /// The files to watch and their stamps as last seen.
    fn watched(&self) -> Vec<(PathBuf, Stamp)> {
        let (loaded, _, _) = self.snapshot();
        match loaded {
            Some(l) => l.files.clone(),
            None => vec![(self.config.script.clone(), None)],
        }
    }
}

fn build(app: App, config: &Config, generation: u64, script_stamp: Stamp) -> Loaded {
    let identities = catalog::identities(&app, &config.access);
    let mut files = vec![(config.script.clone(), script_stamp)];
    let mut i = 0u32;
    while let Some(path) = app.sources.path(SourceId(i)) {
        i += 1;
        // Expanded `$(…)` statements are recorded under names that are not
        // files; only real files are watched.
        if path != config.script && path.is_file() && !files.iter().any(|(p, _)| p == path) {
            files.push((path.to_path_buf(), stamp(path)));
        }
    }
    Loaded {
        app,
        generation,
        loaded_at: unix_now(),
        identities,
        audit: OnceLock::new(),
        per_value: OnceLock::new(),
        files,
    }
}

impl Loaded {
    /// The rows a granted decision leaves per application table: from the
    /// per-value counts when its selection is on one field and they are
    /// exact for the model (microseconds), else from a reduction.
    pub(crate) fn rows_left(&self, ev: &Evaluator<'_>, decision: &Decision) -> Vec<usize> {
        let data = &self.app.data;
        let applied: Vec<_> = decision.reduction.iter().filter(|r| r.applied).collect();
        let counted = match applied.as_slice() {
            [] => Some(data.tables().iter().map(|t| t.len()).collect()),
            [r] => self
                .per_value
                .get_or_init(|| {
                    let fields: Vec<FieldId> =
                        ev.reduction_fields().iter().map(|&(_, f, _)| f).collect();
                    fields
                        .into_par_iter()
                        .map(|f| (f, ev.per_value(f)))
                        .collect()
                })
                .iter()
                .find(|(f, _)| *f == r.field)
                .and_then(|(_, pv)| pv.as_ref())
                .map(|pv| pv.counts(&r.values)),
            _ => None,
        };
        counted.unwrap_or_else(|| {
            let reduced = ev.reduce(decision);
            (0..data.tables().len()).map(|t| reduced.count(t)).collect()
        })
    }
}

/// A running server; dropping it stops it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Server {
    /// Loads the script, binds `addr` (port 0 picks a free port) and serves
    /// on a thread of its own.
    ///
    /// Without a watch, a script that fails to load is an error; with one,
    /// the server starts and shows the error until an edit fixes it.
    pub fn start(addr: SocketAddr, config: Config) -> Result<Self, ServeError> {
        let state = Arc::new(State {
            loopback: addr.ip().is_loopback(),
            current: RwLock::new(Current::default()),
            config,
        });
        // The first load is synchronous so that the caller learns of a
        // broken script before anything listens.
        let script_stamp = stamp(&state.config.script);
        let first = match run_file(&state.config.script, &state.config.load) {
            Ok(app) => Ok(app),
            Err(e) if state.config.watch.is_some() => Err(Problem::new(&e)),
            Err(e) => return Err(ServeError::Load(e)),
        };
        let failed = first
            .is_err()
            .then(|| vec![(state.config.script.clone(), script_stamp)]);
        {
            let mut cur = state
                .current
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            match first {
                Ok(app) => {
                    cur.generation = 1;
                    cur.loaded = Some(Arc::new(build(app, &state.config, 1, script_stamp)));
                }
                Err(p) => cur.error = Some(p),
            }
        }
        let listener = TcpListener::bind(addr).map_err(|e| ServeError::Bind {
            addr,
            reason: e.to_string().to_lowercase(),
        })?;
        let local = listener.local_addr().map_err(|e| ServeError::Bind {
            addr,
            reason: e.to_string().to_lowercase(),
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ServeError::Runtime(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("section-access-serve")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| ServeError::Runtime(e.to_string()))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(String::from("section-access-serve"))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
                    if let Some(every) = state.config.watch {
                        tokio::spawn(watch(Arc::clone(&state), every, failed));
                    }
                    axum::serve(listener, api::router(state))
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await
                        .map_err(|e| e.to_string())
                })
            })
            .map_err(|e| ServeError::Runtime(e.to_string()))?;
        Ok(Self {
            addr: local,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server stops (it only stops on error or [`Server::stop`]).
    pub fn wait(mut self) -> Result<(), ServeError> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => Err(ServeError::Runtime(e)),
            Some(Err(_)) => Err(ServeError::Runtime(String::from(
                "the server thread stopped unexpectedly",
            ))),
            Some(Ok(Ok(()))) | None => Ok(()),
        }
    }

    /// Stops accepting connections, finishes the requests under way and
    /// returns.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Polls the watched files and reloads when one changed (or appeared, or
/// disappeared). The load runs on the blocking pool; requests keep being
/// served from the previous model meanwhile.
async fn watch(state: Arc<State>, every: Duration, failed: Option<Vec<(PathBuf, Stamp)>>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A broken script keeps its stamps here, so it is reloaded once per edit
    // and not at every tick.
    let mut failed = failed;
    loop {
        tick.tick().await;
        let watched = match &failed {
            Some(files) => files.clone(),
            None => state.watched(),
        };
        let now: Vec<(PathBuf, Stamp)> =
            watched.iter().map(|(p, _)| (p.clone(), stamp(p))).collect();
        if now == watched {
            continue;
        }
        let s = Arc::clone(&state);
        let event = tokio::task::spawn_blocking(move || s.reload()).await;
        failed = match event {
            Ok(ReloadEvent::Failed { .. }) => Some(now),
            _ => None,
        };
    }
}
