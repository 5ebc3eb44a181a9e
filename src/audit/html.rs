//! The self-contained HTML audit report (`audit --format html`).
//!
//! One page, inline CSS, no script and no external asset, so it can be
//! mailed or archived as evidence: a summary, the findings with their
//! script lines, the access matrix (identities × reduction values) and the
//! rows each identity sees per table. Output is deterministic (no clock).

use std::fmt::Write as _;

use super::{Audit, Severity, Verdict, label};
use crate::access::{AccessLevel, Outcome};

/// Identities shown in the matrices before the page says "and N more".
pub const MAX_ROWS: usize = 2000;
/// Values of a field shown as matrix columns; beyond, the cell shows a count.
pub const MAX_VALUES: usize = 40;

const CSS: &str = r#"
:root{--ink:#1d2733;--muted:#5b6b7c;--line:#d9e0e7;--bg:#f5f7fa;--card:#fff;--ok:#1e7f4f;--okbg:#e3f4ea;--no:#b42318;--nobg:#fde8e6;--warn:#a15c00;--warnbg:#fff1d6;--info:#1f5fa8;--infobg:#e3eefb;--admin:#5b3cc4;--adminbg:#ece7fb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#14324f;color:#fff;padding:22px 32px 18px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header .meta{color:#c5d4e3;font-size:13px}
header .meta span{margin-right:18px}
main{padding:20px 32px 40px;max-width:1500px}
h2{font-size:17px;margin:28px 0 10px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h2 small{font-weight:400;color:var(--muted);font-size:13px;margin-left:8px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:112px}
.card .n{font-size:26px;font-weight:650}
.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card.bad .n{color:var(--no)}.card.warn .n{color:var(--warn)}.card.good .n{color:var(--ok)}
table{border-collapse:collapse;background:var(--card);border:1px solid var(--line);font-size:13px}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6;font-weight:600}
thead th{position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;white-space:nowrap}
.error{background:var(--nobg);color:var(--no)}.warning{background:var(--warnbg);color:var(--warn)}.info{background:var(--infobg);color:var(--info)}
.granted{background:var(--okbg);color:var(--ok)}.denied{background:var(--nobg);color:var(--no)}
.ADMIN{background:var(--adminbg);color:var(--admin)}.USER{background:#eef2f6;color:var(--ink)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.line{display:block;margin-top:4px;background:#f3f5f8;border-left:3px solid var(--line);padding:3px 8px;white-space:pre-wrap;color:#334}
.help{color:var(--muted);font-size:12px;margin-top:3px}
.loc{white-space:nowrap}
.matrix td.c{text-align:center;padding:4px 2px;min-width:26px}
.matrix th.v{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:500;font-size:12px;padding:6px 2px;white-space:nowrap;max-height:160px}
.matrix th.f{text-align:center;background:#e2e8f0}
.yes{background:#cfe9da;color:var(--ok);font-weight:700}
.all{background:#e6e0fa;color:var(--admin);font-weight:600;font-size:11px}
.off td{color:#8a96a3;background:#fafbfc}
.bar{display:inline-block;height:8px;background:#3a7bd5;border-radius:2px;vertical-align:middle;margin-right:6px}
.bar0{background:#d0d7de}
.note{color:var(--muted);font-size:12px;margin:6px 0}
.legend span{margin-right:14px}
.id{white-space:nowrap;font-weight:500}
@media print{header{background:#fff;color:#000}header .meta{color:#333}thead th{position:static}}
"#;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Messages put values in backticks: show them as code.
fn message(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

fn decision_badge(g: &Verdict) -> String {
    match g.outcome {
        Outcome::Granted => String::from("<span class=\"badge granted\">granted</span>"),
        Outcome::Denied(r) => format!(
            "<span class=\"badge denied\">denied</span> <span class=\"help\">{}</span>",
            r.code()
        ),
    }
}

fn access_badge(g: &Verdict) -> String {
    match g.access {
        Some(a) if g.is_granted() => format!("<span class=\"badge {0}\">{0}</span>", a.as_str()),
        _ => String::new(),
    }
}

/// Renders the report. `title` names the script; `meta` adds label/value
/// pairs under it (options used).
pub fn render(audit: &Audit, title: &str, meta: &[(&str, String)]) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Section Access audit — {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(title)
    );
    let _ = write!(
        h,
        "<header><h1>Section Access audit — {}</h1><div class=\"meta\">",
        esc(title)
    );
    for (k, v) in meta {
        let _ = write!(h, "<span>{}: <b>{}</b></span>", esc(k), esc(v));
    }
    h.push_str("</div></header>\n<main>\n");
    summary(&mut h, audit);
    findings(&mut h, audit);
    matrix(&mut h, audit);
    rows(&mut h, audit);
    h.push_str("<p class=\"note\">Generated by section-access, which evaluates Qlik Section Access offline from the load script. Identities are every USERID, USER.EMAIL and GROUP the security tables name (a group stands for a member of that group with no listed user id) plus any user-directory export given.</p>\n");
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

fn summary(h: &mut String, audit: &Audit) {
    let n = audit.entries.len();
    let mut granted = 0;
    let mut admins = 0;
    let mut denied = 0;
    for e in &audit.entries {
        match audit.grant_of(e) {
            Some(g) if g.is_granted() => {
                granted += 1;
                if g.access == Some(AccessLevel::Admin) {
                    admins += 1;
                }
            }
            Some(_) => denied += 1,
            None => {}
        }
    }
    let count = |s: Severity| audit.findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings, infos) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    h.push_str("<h2>Summary</h2>\n<div class=\"cards\">");
    let mut card = |n: usize, label: &str, class: &str| {
        let _ = write!(
            h,
            "<div class=\"card {class}\"><div class=\"n\">{n}</div><div class=\"l\">{label}</div></div>"
        );
    };
    card(n, "identities audited", "");
    card(granted, "granted", "good");
    card(admins, "of them ADMIN", "");
    card(denied, "denied", if denied > 0 { "bad" } else { "" });
    card(audit.grants.len(), "distinct grants", "");
    card(errors, "errors", if errors > 0 { "bad" } else { "" });
    card(warnings, "warnings", if warnings > 0 { "warn" } else { "" });
    card(infos, "notes", "");
    h.push_str("</div>\n");
}

fn findings(h: &mut String, audit: &Audit) {
    let _ = writeln!(
        h,
        "<h2>Findings<small>{} in all, most serious first</small></h2>",
        audit.findings.len()
    );
    if audit.findings.is_empty() {
        h.push_str("<p>No findings.</p>\n");
        return;
    }
    h.push_str("<table class=\"findings\"><thead><tr><th>Severity</th><th>Finding</th><th>Where</th></tr></thead><tbody>\n");
    for f in &audit.findings {
        let sev = f.severity.as_str();
        let _ = write!(
            h,
            "<tr><td><span class=\"badge {sev}\">{sev}</span></td><td><b><code>{}</code></b> {}<div class=\"help\">{}</div></td><td class=\"loc\">",
            esc(f.code.as_str()),
            message(&f.message),
            message(&f.help)
        );
        match &f.location {
            Some(l) => {
                let _ = write!(h, "<code>{}:{}</code>", esc(&l.file), l.line);
                if let Some(t) = l.text.as_deref().filter(|t| !t.is_empty()) {
                    let _ = write!(h, "<code class=\"line\">{}</code>", esc(t));
                }
            }
            None => h.push_str("<span class=\"help\">whole app</span>"),
        }
        h.push_str("</td></tr>\n");
    }
    h.push_str("</tbody></table>\n");
}

fn identity_cells(h: &mut String, audit: &Audit, e: &super::Entry, g: &Verdict) {
    let _ = write!(
        h,
        "<td class=\"id\">{}</td><td>{}</td><td>{}</td>",
        esc(&label(&e.identity)),
        decision_badge(g),
        access_badge(g)
    );
    let _ = audit;
}

fn more(h: &mut String, audit: &Audit) {
    if audit.entries.len() > MAX_ROWS {
        let _ = writeln!(
            h,
            "<p class=\"note\">… and {} more identities (see the JSON or CSV output for all of them).</p>",
            audit.entries.len() - MAX_ROWS
        );
    }
}

fn matrix(h: &mut String, audit: &Audit) {
    h.push_str("<h2>Access matrix<small>which reduction values each identity sees</small></h2>\n");
    if audit.fields.is_empty() {
        h.push_str("<p>No reduction field: every granted identity sees all rows.</p>\n");
        return;
    }
    h.push_str("<p class=\"legend note\"><span><span class=\"badge yes\">●</span> sees the value</span><span><span class=\"badge all\">all</span> field not reduced for this identity: every value</span><span>empty: does not see it</span><span>grey row: denied</span></p>\n");
    h.push_str("<table class=\"matrix\"><thead><tr><th rowspan=\"2\">Identity</th><th rowspan=\"2\">Decision</th><th rowspan=\"2\">Access</th>");
    for (name, values) in &audit.fields {
        let span = values.len().clamp(1, MAX_VALUES);
        let span = if values.len() > MAX_VALUES { 1 } else { span };
        let _ = write!(h, "<th class=\"f\" colspan=\"{span}\">{}</th>", esc(name));
    }
    h.push_str("</tr><tr>");
    for (_, values) in &audit.fields {
        if values.len() > MAX_VALUES {
            let _ = write!(h, "<th>values seen (of {})</th>", values.len());
        } else if values.is_empty() {
            h.push_str("<th class=\"v\">(no data)</th>");
        } else {
            for v in values {
                let _ = write!(h, "<th class=\"v\">{}</th>", esc(v));
            }
        }
    }
    h.push_str("</tr></thead><tbody>\n");
    for e in audit.entries.iter().take(MAX_ROWS) {
        let Some(g) = audit.grant_of(e) else { continue };
        let _ = write!(
            h,
            "<tr{}>",
            if g.is_granted() { "" } else { " class=\"off\"" }
        );
        identity_cells(h, audit, e, g);
        for (name, values) in &audit.fields {
            let applied = g
                .view
                .reduction
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v);
            if values.len() > MAX_VALUES || values.is_empty() {
                let shown = match (g.is_granted(), applied) {
                    (false, _) => String::new(),
                    (true, Some(v)) => v.len().to_string(),
                    (true, None) => String::from("<span class=\"badge all\">all</span>"),
                };
                let _ = write!(h, "<td class=\"num\">{shown}</td>");
                continue;
            }
            for v in values {
                let cell = match (g.is_granted(), applied) {
                    (false, _) => "<td class=\"c\"></td>",
                    (true, None) => "<td class=\"c all\">all</td>",
                    (true, Some(s)) if s.contains(v) => "<td class=\"c yes\">●</td>",
                    (true, Some(_)) => "<td class=\"c\"></td>",
                };
                h.push_str(cell);
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    more(h, audit);
}

fn rows(h: &mut String, audit: &Audit) {
    h.push_str("<h2>Rows per table<small>rows each identity sees after reduction, of the total</small></h2>\n");
    let tables: Vec<(String, usize)> = audit
        .grants
        .first()
        .map(|g| {
            g.view
                .tables
                .iter()
                .map(|t| (t.name.to_string(), t.total))
                .collect()
        })
        .unwrap_or_default();
    if tables.is_empty() {
        h.push_str("<p>No application table.</p>\n");
        return;
    }
    h.push_str(
        "<table class=\"rows\"><thead><tr><th>Identity</th><th>Decision</th><th>Access</th>",
    );
    for (name, total) in &tables {
        let _ = write!(
            h,
            "<th>{}<div class=\"help\">{total} rows</div></th>",
            esc(name)
        );
    }
    h.push_str("<th>Omitted fields</th></tr></thead><tbody>\n");
    for e in audit.entries.iter().take(MAX_ROWS) {
        let Some(g) = audit.grant_of(e) else { continue };
        let _ = write!(
            h,
            "<tr{}>",
            if g.is_granted() { "" } else { " class=\"off\"" }
        );
        identity_cells(h, audit, e, g);
        for (name, total) in &tables {
            let n = g.view.rows(name);
            let width = if *total == 0 { 0 } else { n * 60 / total };
            let class = if n == 0 { "bar bar0" } else { "bar" };
            let _ = write!(
                h,
                "<td class=\"num\"><span class=\"{class}\" style=\"width:{}px\"></span>{n}</td>",
                width.max(2)
            );
        }
        let omitted: Vec<String> = g.view.omitted.iter().map(|o| esc(o)).collect();
        let _ = write!(h, "<td>{}</td>", omitted.join(", "));
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    more(h, audit);
}
