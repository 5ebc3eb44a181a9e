//! Routes, request parsing and the JSON answers of the preview server.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::catalog::{self, Audited};
use super::{DEFAULT_PAGE, Loaded, MAX_BODY, MAX_PAGE, State};
use crate::access::report::IdentityReport;
use crate::access::{Decision, Evaluator, PreviewReport};
use crate::audit::who::{Target, WhoError};
use crate::jwt::{self, JwtError};
use crate::load::App;
use crate::model::{FieldId, SymbolId};
use crate::names::{Email, GroupName, Identity, UserId};
use std::path::PathBuf;

const INDEX_HTML: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");
const APP_CSS: &str = include_str!("web/app.css");
const FAVICON: &str = include_str!("web/favicon.svg");

/// The page may load only its own files, and nothing may frame it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/app.js", get(script))
        .route("/app.css", get(style))
        .route("/favicon.svg", get(favicon))
        .route("/api/status", get(status))
        .route("/api/identities", get(identities))
        .route("/api/preview", post(preview))
        .route("/api/tables/{name}", get(table_rows))
        .route("/api/audit", get(audit))
        .route("/api/findings", get(findings))
        .route("/api/who", get(who))
        .route("/api/explain", get(explain))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            check_host,
        ))
        .with_state(state)
}

/// A failed request, answered as JSON.
#[derive(Debug)]
pub(super) enum ApiError {
    /// 400.
    BadRequest { code: &'static str, message: String },
    /// 401: the token failed verification (every failed check listed).
    Unauthorized(Vec<JwtError>),
    /// 403: the identity is denied; it sees no rows.
    Denied(&'static str),
    /// 404.
    NotFound { code: &'static str, message: String },
    /// 413.
    TooLarge(String),
    /// 421: the `Host` header names no loopback address.
    Misdirected,
    /// 503: no script has loaded yet.
    NoModel(Option<super::Problem>),
    /// 500.
    Internal(String),
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code,
        message: message.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadRequest { code, message } => (
                StatusCode::BAD_REQUEST,
                json!({"error": code, "message": message}),
            ),
            ApiError::Unauthorized(errors) => {
                let codes: Vec<String> = errors.iter().map(JwtError::code).collect();
                let first = codes
                    .first()
                    .cloned()
                    .unwrap_or_else(|| String::from("invalid-token"));
                let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
                let body = json!({
                    "error": first,
                    "errors": codes,
                    "messages": messages,
                    "decision": "unauthorized",
                    "reason": first,
                });
                let mut resp = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
                // The code is kebab-case ASCII, safe inside a quoted string.
                let challenge =
                    format!(r#"Bearer error="invalid_token", error_description="{first}""#);
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                return resp;
            }
            ApiError::Denied(reason) => (
                StatusCode::FORBIDDEN,
                json!({"error": "denied", "message": format!("access denied: {reason}"), "decision": "denied", "reason": reason}),
            ),
            ApiError::NotFound { code, message } => (
                StatusCode::NOT_FOUND,
                json!({"error": code, "message": message}),
            ),
            ApiError::TooLarge(message) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "body-too-large", "message": message}),
            ),
            ApiError::Misdirected => (
                StatusCode::MISDIRECTED_REQUEST,
                json!({"error": "bad-host", "message": "the server listens on loopback and answers only requests addressed to localhost"}),
            ),
            ApiError::NoModel(problem) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "not-loaded", "message": "the script has not loaded yet", "load_error": problem}),
            ),
            ApiError::Internal(message) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal", "message": message}),
            ),
        };
        (status, axum::Json(body)).into_response()
    }
}

/// Refuses requests whose `Host` is not a loopback name when the server
/// listens on loopback: a web page elsewhere cannot reach the data by
/// pointing a DNS name at 127.0.0.1.
async fn check_host(Shared(state): Shared<Arc<State>>, req: Request, next: Next) -> Response {
    if state.loopback {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !is_loopback_host(host) {
            return ApiError::Misdirected.into_response();
        }
    }
    next.run(req).await
}

fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

async fn index() -> Response {
    page("text/html; charset=utf-8", INDEX_HTML)
}

async fn script() -> Response {
    page("text/javascript; charset=utf-8", APP_JS)
}

async fn style() -> Response {
    page("text/css; charset=utf-8", APP_CSS)
}

async fn favicon() -> Response {
    page("image/svg+xml", FAVICON)
}

async fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "not-found",
        message: String::from("no such route; see /api/status"),
    }
}

async fn wrong_method() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(
            json!({"error": "method-not-allowed", "message": "use GET, or POST for /api/preview"}),
        ),
    )
        .into_response()
}

fn loaded(state: &State) -> Result<Arc<Loaded>, ApiError> {
    let (loaded, error, _) = state.snapshot();
    loaded.ok_or(ApiError::NoModel(error))
}

fn rfc3339(secs: i64) -> Value {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map_or(Value::Null, Value::String)
}

async fn status(Shared(state): Shared<Arc<State>>) -> Response {
    let (loaded, error, generation) = state.snapshot();
    let config = &state.config;
    let model = loaded.as_ref().map(|l| {
        let app = &l.app;
        let counts = |m: &crate::model::Model| -> serde_json::Map<String, Value> {
            m.tables()
                .iter()
                .map(|t| (t.name.to_string(), Value::from(t.len())))
                .collect()
        };
        json!({
            "generation": l.generation,
            "loaded_at": rfc3339(l.loaded_at),
            "has_section_access": app.has_section_access,
            "approximate": app.approximate,
            "warnings": app.warnings,
            "security_tables": counts(&app.access),
            "tables": counts(&app.data),
            "fields": app.data.tables().iter().map(|t| {
                let names: Vec<&str> = t.fields().filter_map(|f| app.data.field_name(f)).map(|n| n.as_str()).collect();
                (t.name.to_string(), Value::from(names))
            }).collect::<serde_json::Map<String, Value>>(),
            "identities": l.identities.len(),
        })
    });
    let tokens = &config.tokens;
    let body = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "script": config.script.display().to_string(),
        "watch": config.watch.is_some(),
        "generation": generation,
        "ok": error.is_none() && loaded.is_some(),
        "error": error,
        "model": model,
        "options": {
            "product": config.access.product,
            "uppercase": config.access.uppercase,
            "strict_exclusion": config.access.strict(),
        },
        "token": {
            "profile": tokens.profile.name(),
            "describe": tokens.profile.describe(),
            "algorithms": tokens.profile.algorithms().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "accepts_unsigned": tokens.profile.accepts_unsigned(),
            "keys": !matches!(tokens.keys, jwt::Keys::None),
            "now": tokens.now,
            "leeway": tokens.leeway,
        },
    });
    axum::Json(body).into_response()
}

async fn identities(Shared(state): Shared<Arc<State>>) -> Result<Response, ApiError> {
    let l = loaded(&state)?;
    let list: Vec<Value> = l
        .identities
        .iter()
        .map(|i| {
            let r = IdentityReport::from(i);
            json!({"userid": r.userid, "email": r.email, "groups": r.groups, "label": catalog::label(i)})
        })
        .collect();
    Ok(axum::Json(json!({"generation": l.generation, "identities": list})).into_response())
}

/// The JSON identity of `POST /api/preview`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityBody {
    #[serde(default)]
    userid: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// An identity from its typed parts; blank parts are left out, and an
/// identity with no part at all is refused.
fn typed_identity(
    userid: Option<&str>,
    email: Option<&str>,
    groups: &[String],
) -> Result<Identity, ApiError> {
    let userid = userid.map(str::trim).filter(|s| !s.is_empty());
    let email = email.map(str::trim).filter(|s| !s.is_empty());
    let groups: Vec<GroupName> = groups
        .iter()
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .map(GroupName::new)
        .collect();
    if userid.is_none() && email.is_none() && groups.is_empty() {
        return Err(bad(
            "missing-identity",
            "give a `userid`, an `email` or `groups`, or an `Authorization: Bearer` token",
        ));
    }
    Ok(Identity::new(
        userid.map(UserId::new),
        email.map(Email::new),
        groups,
    ))
}

/// The Bearer token of a request, if it carries one. A header that is not
/// `Bearer <token>` is a bad request (RFC 6750 `invalid_request`).
fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| bad("bad-authorization", "the Authorization header is not ASCII"))?;
    let (scheme, token) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(bad(
            "bad-authorization",
            "the Authorization header must be `Bearer <token>`",
        ));
    }
    Ok(Some(token.trim().to_string()))
}

/// Verifies a token the way the engine does: any failed check is a 401.
fn verified(state: &State, token: &str) -> Result<Identity, ApiError> {
    let policy = &state.config.tokens;
    let v = jwt::verify(
        token,
        &policy.profile,
        &policy.keys,
        policy.now(),
        policy.leeway,
    );
    match v.identity {
        Some(identity) if v.valid => Ok(identity),
        _ if v.errors.is_empty() => Err(ApiError::Unauthorized(vec![JwtError::Malformed {
            parts: 0,
        }])),
        _ => Err(ApiError::Unauthorized(v.errors)),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("evaluation failed: {e}")))
}

async fn preview(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!("the body is larger than {MAX_BODY} bytes"))
        } else {
            bad("bad-body", e.body_text())
        }
    })?;
    let token = bearer(&headers)?;
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    let identity = match token {
        Some(_) if has_body => {
            return Err(bad(
                "identity-and-token",
                "give either a JSON identity or a Bearer token, not both",
            ));
        }
        Some(t) => verified(&state, &t)?,
        None if !has_body => {
            return Err(bad(
                "missing-identity",
                "send a JSON body `{\"userid\", \"email\", \"groups\"}` or an `Authorization: Bearer` token",
            ));
        }
        None => {
            // Parsed as a value first: serde would also read a struct from
            // a JSON array, by position.
            let value: Value = serde_json::from_slice(&body)
                .map_err(|e| bad("bad-json", format!("the body is not JSON: {e}")))?;
            if !value.is_object() {
                return Err(bad(
                    "bad-json",
                    "the body must be an object `{\"userid\", \"email\", \"groups\"}`",
                ));
            }
            let b: IdentityBody = serde_json::from_value(value)
                .map_err(|e| bad("bad-json", format!("the body is not an identity: {e}")))?;
            typed_identity(b.userid.as_deref(), b.email.as_deref(), &b.groups)?
        }
    };
    let l = loaded(&state)?;
    let opts = state.config.access;
    let report = blocking(move || {
        let ev = Evaluator::new(&l.app, opts);
        let mut decision = ev.decide_identity(&identity);
        let counts = decision
            .outcome
            .is_granted()
            .then(|| l.rows_left(&ev, &decision));
        if let Some(counts) = &counts {
            ev.finish(&mut decision, counts);
        }
        serde_json::to_value(PreviewReport::with_counts(
            &l.app,
            &identity,
            &decision,
            counts.as_deref(),
        ))
    })
    .await?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(axum::Json(report).into_response())
}

/// The query of `/api/tables/{name}`.
#[derive(Debug, Default)]
struct TableQuery {
    userid: Option<String>,
    email: Option<String>,
    groups: Vec<String>,
    offset: usize,
    limit: usize,
}

fn table_query(raw: Option<&str>) -> Result<TableQuery, ApiError> {
    identity_query(raw, true)
}

/// The identity (`userid`, `email`, `group`) of a query, and with `paging`
/// its `offset` and `limit`.
fn identity_query(raw: Option<&str>, paging: bool) -> Result<TableQuery, ApiError> {
    let mut q = TableQuery {
        limit: DEFAULT_PAGE,
        ..TableQuery::default()
    };
    let number = |key: &str, v: &str| -> Result<usize, ApiError> {
        v.parse::<usize>().map_err(|_| {
            bad(
                "bad-query",
                format!("`{key}` must be a whole number, got `{v}`"),
            )
        })
    };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "userid" => q.userid = Some(v.into_owned()),
            "email" => q.email = Some(v.into_owned()),
            "group" => q.groups.push(v.into_owned()),
            "offset" if paging => q.offset = number("offset", &v)?,
            "limit" if paging => q.limit = number("limit", &v)?,
            other => {
                let known = if paging {
                    "userid, email, group, offset, limit"
                } else {
                    "userid, email, group"
                };
                return Err(bad(
                    "bad-query",
                    format!("unknown parameter `{other}`; use {known}"),
                ));
            }
        }
    }
    if q.limit == 0 || q.limit > MAX_PAGE {
        return Err(bad(
            "bad-query",
            format!("`limit` must be between 1 and {MAX_PAGE}"),
        ));
    }
    Ok(q)
}

/// The identity of a GET request: in the query or a Bearer token, not both.
fn request_identity(
    state: &State,
    q: &TableQuery,
    headers: &HeaderMap,
) -> Result<Identity, ApiError> {
    let typed = q.userid.is_some() || q.email.is_some() || !q.groups.is_empty();
    match bearer(headers)? {
        Some(_) if typed => Err(bad(
            "identity-and-token",
            "give either an identity in the query or a Bearer token, not both",
        )),
        Some(t) => verified(state, &t),
        None => typed_identity(q.userid.as_deref(), q.email.as_deref(), &q.groups),
    }
}

async fn table_rows(
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = table_query(raw.as_deref())?;
    let identity = request_identity(&state, &q, &headers)?;
    let l = loaded(&state)?;
    if l.app.data.table(&name).is_none() {
        let known: Vec<String> = l
            .app
            .data
            .tables()
            .iter()
            .map(|t| format!("`{}`", t.name))
            .collect();
        return Err(ApiError::NotFound {
            code: "unknown-table",
            message: format!("no table `{name}`; the tables are {}", known.join(", ")),
        });
    }
    let opts = state.config.access;
    let (offset, limit) = (q.offset, q.limit);
    blocking(move || {
        let decision = Evaluator::new(&l.app, opts).evaluate(&identity);
        if let Some(reason) = decision.outcome.reason() {
            return Err(ApiError::Denied(reason.code()));
        }
        let omitted = decision.omitted_ids();
        let table = decision
            .tables(&l.app.data, &omitted)
            .and_then(|mut ts| ts.find(|t| t.name() == name))
            .ok_or_else(|| ApiError::Internal(format!("table `{name}` vanished")))?;
        let data: Vec<Vec<String>> = table
            .text_rows()
            .skip(offset)
            .take(limit)
            .map(|r| r.map(|r| r.into_iter().map(|c| c.into_owned()).collect()))
            .collect::<Result<_, _>>()
            .map_err(|b| ApiError::Internal(b.to_string()))?;
        Ok(axum::Json(json!({
            "table": table.name(),
            "total": table.total(),
            "rows": table.count(),
            "offset": offset,
            "limit": limit,
            "fields": table.fields().iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            "data": data,
        }))
        .into_response())
    })
    .await?
}

async fn audit_of(state: &State) -> Result<Arc<Audited>, ApiError> {
    let l = loaded(state)?;
    if let Some(a) = l.audit.get() {
        return Ok(Arc::clone(a));
    }
    let opts = state.config.access;
    blocking(move || {
        Arc::clone(
            l.audit
                .get_or_init(|| Arc::new(catalog::audit(&l.app, &opts))),
        )
    })
    .await
}

async fn audit(Shared(state): Shared<Arc<State>>) -> Result<Response, ApiError> {
    let report = audit_of(&state).await?;
    Ok(axum::Json(&report.matrix).into_response())
}

async fn findings(Shared(state): Shared<Arc<State>>) -> Result<Response, ApiError> {
    let report = audit_of(&state).await?;
    Ok(axum::Json(json!({"findings": report.matrix.findings})).into_response())
}

/// The question of `/api/who`: `field`/`value` pairs (in order), or
/// `table` and `row`; `denied=1` for the identities that cannot.
fn who_query(raw: Option<&str>) -> Result<(Target, bool), ApiError> {
    let (mut fields, mut values) = (Vec::new(), Vec::new());
    let (mut table, mut row, mut denied) = (None, None, false);
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "field" => fields.push(v.into_owned()),
            "value" => values.push(v.into_owned()),
            "table" => table = Some(v.into_owned()),
            "row" => {
                row = Some(v.parse::<usize>().map_err(|_| {
                    bad(
                        "bad-query",
                        format!("`row` must be a whole number, got `{v}`"),
                    )
                })?);
            }
            "denied" => denied = matches!(v.as_ref(), "1" | "true" | "yes"),
            other => {
                return Err(bad(
                    "bad-query",
                    format!("unknown parameter `{other}`; use field, value, table, row, denied"),
                ));
            }
        }
    }
    let target = match (table, row) {
        (Some(table), Some(row)) if fields.is_empty() => Target::Row { table, row },
        (None, None) if !fields.is_empty() && fields.len() == values.len() => {
            Target::Values(fields.into_iter().zip(values).collect())
        }
        _ => {
            return Err(bad(
                "bad-query",
                "ask `field=F&value=V` (as many pairs as needed), or `table=T&row=N`",
            ));
        }
    };
    Ok((target, denied))
}

async fn who(
    Shared(state): Shared<Arc<State>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (target, denied) = who_query(raw.as_deref())?;
    let audited = audit_of(&state).await?;
    let l = loaded(&state)?;
    let opts = state.config.access;
    blocking(move || {
        crate::audit::who::who(&l.app, &opts, &audited.audit, &target, denied)
            .map(|answer| axum::Json(answer).into_response())
            .map_err(|e| match e {
                WhoError::NoTable(..) | WhoError::NoField(..) | WhoError::NoRow { .. } => {
                    ApiError::NotFound {
                        code: "not-found",
                        message: e.to_string(),
                    }
                }
                WhoError::Bug(m) => ApiError::Internal(m),
                _ => bad("bad-query", e.to_string()),
            })
    })
    .await?
}

/// The most values of one field `/api/explain` lists.
const MAX_FIELD_VALUES: usize = 200;

/// How the reduced model shows: per reduction and key field, each value
/// selected (S_f), possible (in a row that stays) or excluded, as Qlik
/// colours them green, white and grey.
fn model_view(app: &App, ev: &Evaluator<'_>, decision: &Decision) -> Value {
    let data = &app.data;
    let shape = ev.shape();
    let mut fields: Vec<(FieldId, &'static str)> = shape
        .reductions
        .iter()
        .map(|r| (r.data, "reduction"))
        .collect();
    for &f in ev.key_fields() {
        if !fields.iter().any(|(x, _)| *x == f) {
            fields.push((f, "key"));
        }
    }
    let granted = decision.outcome.is_granted();
    let reduced = decision.reduced.as_ref();
    let out: Vec<Value> = fields
        .iter()
        .filter(|(f, _)| data.tables().iter().any(|t| t.has_field(*f)))
        .map(|&(f, kind)| {
            let possible = reduced.map(|r| r.values(data, f));
            let selected: Vec<SymbolId> = decision
                .reduction
                .iter()
                .filter(|r| r.applied && r.field == f)
                .flat_map(|r| r.values.iter().copied())
                .collect();
            let symbols = data.symbols(f);
            let total = symbols.map_or(0, |s| s.len());
            let values: Vec<Value> = symbols
                .into_iter()
                .flat_map(|s| s.texts())
                .take(MAX_FIELD_VALUES)
                .map(|(id, text)| {
                    let state = if !granted {
                        "excluded"
                    } else if selected.contains(&id) {
                        "selected"
                    } else if possible.as_ref().is_some_and(|p| p.contains(id.index())) {
                        "possible"
                    } else {
                        "excluded"
                    };
                    json!({"value": text, "state": state})
                })
                .collect();
            json!({
                "name": data.field_name(f).map_or("", |n| n.as_str()),
                "kind": kind,
                "values": values,
                "more": total.saturating_sub(MAX_FIELD_VALUES),
            })
        })
        .collect();
    Value::Array(out)
}

/// The lines of the script around the security rows the identity
/// matched, per file: two lines of context each side, matched lines
/// marked (and whether the row was kept).
fn script_excerpts(app: &App, decision: &Decision) -> Value {
    // Per file: as shown, its path, and its matched lines (kept or not).
    type Matched = Vec<(u32, bool)>;
    let mut files: Vec<(String, PathBuf, Matched)> = Vec::new();
    for m in &decision.matched_rows {
        let (Some(path), Some(line)) = (&m.file, m.line) else {
            continue;
        };
        let Some(shown) = crate::audit::findings::path_location(app, path, line) else {
            continue;
        };
        match files.iter_mut().find(|(f, _, _)| *f == shown.file) {
            Some((_, _, lines)) => lines.push((line, m.kept)),
            None => files.push((shown.file, path.clone(), vec![(line, m.kept)])),
        }
    }
    let out: Vec<Value> = files
        .into_iter()
        .filter_map(|(shown, path, matched)| {
            let id = (0u32..)
                .map(crate::script::source::SourceId)
                .take_while(|&id| app.sources.get(id).is_some())
                .find(|&id| app.sources.path(id) == Some(path.as_path()))?;
            let src = app.sources.get(id)?;
            let mut wanted: Vec<u32> = matched
                .iter()
                .flat_map(|(l, _)| l.saturating_sub(2).max(1)..=l.saturating_add(2))
                .collect();
            wanted.sort_unstable();
            wanted.dedup();
            let lines: Vec<Value> = wanted
                .into_iter()
                .filter_map(|n| {
                    let text = src.line_text(n)?;
                    let hit = matched.iter().find(|(l, _)| *l == n);
                    Some(json!({
                        "line": n,
                        "text": text.trim_end(),
                        "matched": hit.is_some(),
                        "kept": hit.is_some_and(|(_, k)| *k),
                    }))
                })
                .collect();
            Some(json!({"file": shown, "lines": lines}))
        })
        .collect();
    Value::Array(out)
}

async fn explain(
    Shared(state): Shared<Arc<State>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = identity_query(raw.as_deref(), false)?;
    let identity = request_identity(&state, &q, &headers)?;
    let l = loaded(&state)?;
    let opts = state.config.access;
    blocking(move || {
        let ev = Evaluator::new(&l.app, opts);
        let decision = ev.evaluate(&identity);
        axum::Json(json!({
            "fields": model_view(&l.app, &ev, &decision),
            "script": script_excerpts(&l.app, &decision),
        }))
        .into_response()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:80",
            "app.localhost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["", "example.com", "127.0.0.1.nip.io:80", "10.0.0.1"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn query_parsing() {
        let q = table_query(Some("userid=a&group=G1&group=G%202&offset=5&limit=7")).unwrap();
        assert_eq!(q.userid.as_deref(), Some("a"));
        assert_eq!(q.groups, ["G1", "G 2"]);
        assert_eq!((q.offset, q.limit), (5, 7));
        assert!(table_query(Some("limit=0")).is_err());
        assert!(table_query(Some("limit=x")).is_err());
        assert!(table_query(Some("user=a")).is_err());
    }
}
