// The preview page: plain DOM, no framework, every value inserted as text.
"use strict";

const PAGE = 50;

const REASONS = {
  "no-matching-row": "No security row matches this identity: the engine answers \u201cAccess denied\u201d.",
  "no-valid-access": "Security rows match, but none has ACCESS set to ADMIN or USER.",
  "strict-exclusion": "A reduction field keeps no value that exists in the data (strict exclusion).",
  "reduced-to-nothing": "After the reduction, a table holding a reduction field has no rows left.",
};

const state = {
  status: null,
  generation: null,
  identities: [],
  request: null, // {identity: {userid, email, groups}} or {token}
  report: null,
  table: null,
  offset: 0,
  audit: null,
  who: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Renders `text` with `backticked` parts as <code>.
function withCode(text) {
  const out = [];
  String(text).split(/(`[^`]*`)/).forEach((part) => {
    if (part.startsWith("`") && part.endsWith("`") && part.length > 1) out.push(el("code", { text: part.slice(1, -1) }));
    else if (part) out.push(part);
  });
  return out;
}

async function api(path, options) {
  const resp = await fetch(path, options);
  let body = null;
  try { body = await resp.json(); } catch (_) { body = null; }
  return { status: resp.status, ok: resp.ok, body };
}

function identityLabel(id) {
  if (!id) return "";
  const parts = [];
  if (id.userid) parts.push(id.userid);
  if (id.email) parts.push(id.email);
  if (id.groups && id.groups.length) parts.push("groups " + id.groups.join(", "));
  return parts.join(" \u00b7 ") || "(anonymous)";
}

// ---- status and identities ----------------------------------------------

async function loadStatus() {
  const { body } = await api("/api/status");
  if (!body) return;
  state.status = body;
  $("script-path").textContent = body.script;
  $("script-path").title = body.script;
  $("version").textContent = "section-access " + body.version;
  $("token-profile").textContent = "Verified as the " + body.token.describe + " profile verifies it" + (body.token.now !== null ? ", clock fixed at " + new Date(body.token.now * 1000).toISOString() : "") + ".";
  const box = $("status");
  box.replaceChildren();
  if (body.model) {
    const tables = Object.keys(body.model.tables).length;
    box.append(el("span", { class: "pill ok", text: `loaded \u00b7 ${tables} table${tables === 1 ? "" : "s"} \u00b7 ${body.model.identities} identities` }));
    if (body.model.approximate) box.append(el("span", { class: "pill warn", text: "approximate model" }));
  }
  if (body.error) box.append(el("span", { class: "pill bad", text: body.model ? "last edit failed" : "not loaded" }));
  if (body.watch) box.append(el("span", { class: "pill", text: "watching for changes" }));
  box.append(el("span", { class: "pill", title: "Tokens are verified with this profile", text: "JWT: " + body.token.describe }));

  const banner = $("load-error");
  if (body.error) {
    banner.hidden = false;
    $("load-error-summary").textContent = ` ${body.error.message} (${body.error.location})` + (body.model ? " \u2014 still showing the last version that loaded." : "");
    $("load-error-text").textContent = body.error.rendered;
  } else {
    banner.hidden = true;
  }
  if (state.generation !== null && body.generation !== state.generation) {
    state.generation = body.generation;
    state.audit = null;
    await loadIdentities();
    if (state.request) await runPreview(state.request, true);
    if (!$("panel-audit").hidden) await loadAudit();
  }
  state.generation = body.generation;
  fillWhoTables();
}

async function loadIdentities() {
  const { body } = await api("/api/identities");
  const select = $("listed");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: body ? "Choose an identity\u2026" : "No model loaded" }));
  state.identities = body ? body.identities : [];
  const groups = { user: [], email: [], group: [] };
  state.identities.forEach((id, i) => {
    const kind = id.userid ? "user" : id.email ? "email" : "group";
    groups[kind].push(el("option", { value: String(i), text: id.userid ? id.label : id.email ? id.email : id.groups.join(", ") }));
  });
  const names = { user: "Users", email: "E-mail addresses", group: "Members of a group" };
  for (const k of ["user", "email", "group"]) {
    if (groups[k].length) select.append(el("optgroup", { label: names[k] }, groups[k]));
  }
  if (chosen && Number(chosen) < state.identities.length) select.value = chosen;
}

// ---- preview -------------------------------------------------------------

function requestOptions(req) {
  if (req.token) return { method: "POST", headers: { Authorization: "Bearer " + req.token } };
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(req.identity) };
}

async function runPreview(req, keepPage) {
  const { status, body } = await api("/api/preview", requestOptions(req));
  state.request = req;
  $("empty").hidden = true;
  $("outcome").hidden = false;
  if (status === 401 || (body && body.decision === "unauthorized")) {
    state.report = null;
    renderUnauthorized(body || { errors: ["unauthorized"], messages: [] });
    return;
  }
  if (!body || status >= 400) {
    state.report = null;
    renderProblem(body ? body.message || body.error : "The server did not answer.");
    return;
  }
  state.report = body;
  renderReport(body, keepPage);
  saveAddress();
  loadExplain();
}

// ---- the page's state in its address (never a token) -------------------

function saveAddress() {
  const q = new URLSearchParams();
  const req = state.request;
  if (req && req.identity) {
    if (req.identity.userid) q.set("user", req.identity.userid);
    if (req.identity.email) q.set("email", req.identity.email);
    for (const g of req.identity.groups || []) q.append("group", g);
    if (state.table) q.set("table", state.table);
  }
  const tab = ["audit", "who"].find((t) => !$("panel-" + t).hidden);
  if (tab) q.set("tab", tab);
  if (tab === "who" && state.who) for (const [k, v] of state.who) q.append(k, v);
  const query = q.toString();
  history.replaceState(null, "", query ? "?" + query : location.pathname);
}

async function restoreAddress() {
  const q = new URLSearchParams(location.search);
  const tab = q.get("tab");
  const identity = { userid: q.get("user"), email: q.get("email"), groups: q.getAll("group") };
  if (identity.userid || identity.email || identity.groups.length) {
    $("userid").value = identity.userid || "";
    $("email").value = identity.email || "";
    $("groups").value = identity.groups.join(", ");
    state.table = q.get("table");
    await runPreview({ identity });
  }
  if (tab === "audit" || tab === "who") selectTab(tab);
  if (tab === "who") {
    const table = q.get("who_table");
    if (table) { $("who-table").value = table; fillWhoFields(); }
    if (q.get("field")) $("who-field").value = q.get("field");
    $("who-value").value = q.get("value") || "";
    $("who-row").value = q.get("row") || "";
    $("who-denied").checked = q.get("denied") === "1";
    if (q.get("value") !== null || q.get("row")) await askWho();
  }
}

// ---- the model and the script, for the previewed identity ---------------

async function loadExplain() {
  const req = state.request;
  if (!req) return;
  const q = new URLSearchParams();
  const opts = {};
  if (req.token) opts.headers = { Authorization: "Bearer " + req.token };
  else {
    if (req.identity.userid) q.append("userid", req.identity.userid);
    if (req.identity.email) q.append("email", req.identity.email);
    for (const g of req.identity.groups || []) q.append("group", g);
  }
  const { body, ok } = await api("/api/explain?" + q, opts);
  if (!ok || !body) {
    $("model").replaceChildren(el("p", { class: "none", text: body ? body.message : "No answer." }));
    $("script").replaceChildren();
    return;
  }
  $("model").replaceChildren(body.fields.length
    ? el("dl", { class: "model" }, body.fields.map((f) => [
      el("dt", {}, f.name, " ", el("span", { class: "muted kind", text: f.kind })),
      el("dd", {}, el("div", { class: "chips" },
        f.values.map((v) => el("span", { class: "chip " + v.state, title: v.state, "data-state": v.state, text: v.value })),
        f.more ? el("span", { class: "muted", text: `and ${f.more} more` }) : null)),
    ]))
    : el("p", { class: "none", text: "No reduction or key field." }));
  $("script").replaceChildren(...(body.script.length
    ? body.script.map((file) => {
      const items = [];
      let last = null;
      for (const l of file.lines) {
        if (last !== null && l.line > last + 1) items.push(el("li", { class: "gap", text: "…" }));
        items.push(el("li", { class: l.matched ? (l.kept ? "hit" : "hit dropped") : null, "data-line": String(l.line) },
          el("span", { class: "n", text: String(l.line) }), el("span", { text: l.text })));
        last = l.line;
      }
      return el("div", { class: "excerpt" }, el("h4", { text: file.file }), el("ol", {}, items));
    })
    : [el("p", { class: "none", text: "No matched row has a known line." })]));
}

// ---- who can see? --------------------------------------------------------

function fillWhoTables() {
  const model = state.status && state.status.model;
  const tables = model ? Object.keys(model.fields || {}) : [];
  const select = $("who-table");
  const chosen = select.value;
  select.replaceChildren(...tables.map((t) => el("option", { value: t, text: t })));
  if (tables.includes(chosen)) select.value = chosen;
  fillWhoFields();
}

function fillWhoFields() {
  const model = state.status && state.status.model;
  const fields = (model && model.fields && model.fields[$("who-table").value]) || [];
  const select = $("who-field");
  const chosen = select.value;
  select.replaceChildren(...fields.map((f) => el("option", { value: f, text: f })));
  if (fields.includes(chosen)) select.value = chosen;
}

async function askWho() {
  const q = new URLSearchParams();
  const row = $("who-row").value.trim();
  if (row) {
    q.set("table", $("who-table").value);
    q.set("row", row);
  } else {
    q.set("field", $("who-field").value);
    q.set("value", $("who-value").value);
  }
  if ($("who-denied").checked) q.set("denied", "1");
  // In the address the table is `who_table` (`table` is the preview's).
  state.who = Array.from(q.entries()).filter(([k]) => k !== "table").concat([["who_table", $("who-table").value]]);
  saveAddress();
  const { body, ok } = await api("/api/who?" + q);
  const out = $("who-result");
  if (!ok || !body) {
    out.replaceChildren(el("p", { class: "why" }, withCode(body ? body.message : "No answer.")));
    return;
  }
  const what = body.values.length
    ? `${body.rows.length} row${body.rows.length === 1 ? "" : "s"} of ${body.table} with ${body.values.map(([f, v]) => f + "=" + v).join(", ")}`
    : `row ${body.rows[0]} of ${body.table}`;
  const person = (i) => {
    const label = i.userid || i.email || "group:" + i.groups.join(";");
    return el("button", { type: "button", class: "link", onclick: () => previewListed(i), text: label });
  };
  out.replaceChildren(...[
    el("p", { id: "who-summary", text: `${what}: ${body.can.length} identit${body.can.length === 1 ? "y" : "ies"} can see it.` }),
    el("ul", { class: "who-list", id: "who-can" }, body.can.map((s) => el("li", {},
      person(s.identity), " ", el("span", { class: "muted", text: s.access || "" }), " ",
      s.granted_by.map((g) => el("code", { text: `${g.file}:${g.line}` }))))),
    ...(body.cannot ? [el("h3", { text: `Cannot see (${body.cannot.length})` }),
      el("ul", { class: "who-list", id: "who-cannot" }, body.cannot.map((n) => el("li", {}, person(n.identity), " ", el("code", { text: n.reason }))))] : []),
  ]);
}

function showSections(on) {
  for (const id of ["reduction-card", "omitted-card", "matched-card", "tables-card", "grid-card", "model-card", "script-card"]) $(id).hidden = !on;
}

function renderProblem(message) {
  const d = $("decision");
  d.className = "decision card unauthorized";
  d.replaceChildren(el("span", { class: "badge", text: "ERROR" }), el("div", {}, el("p", { class: "why" }, withCode(message))));
  $("notes-card").hidden = true;
  showSections(false);
}

function renderUnauthorized(body) {
  const d = $("decision");
  d.className = "decision card unauthorized";
  const list = el("ul", { class: "notes" });
  (body.errors || []).forEach((code, i) => {
    const msg = (body.messages || [])[i];
    list.append(el("li", {}, el("code", { text: code }), msg ? [" \u2014 ", ...withCode(msg)] : []));
  });
  d.replaceChildren(
    el("span", { class: "badge", text: "401 UNAUTHORIZED" }),
    el("div", {},
      el("p", { class: "why", text: "The engine rejects this token before section access is evaluated." }),
      list),
  );
  $("notes-card").hidden = true;
  showSections(false);
}

function renderReport(r, keepPage) {
  const granted = r.decision === "granted";
  const d = $("decision");
  d.className = "decision card " + r.decision;
  const why = granted
    ? (r.access ? `Granted with access level ${r.access}.` : "Granted: the script has no section access.")
    : (REASONS[r.reason] || r.reason);
  d.replaceChildren(
    el("span", { class: "badge", id: "decision-badge", text: r.decision.toUpperCase() }),
    el("div", {},
      el("p", { class: "why" }, why, r.reason ? [" ", el("code", { text: r.reason })] : []),
      el("p", { class: "who-line", text: "compared as: " + identityLabel(r.identity) })),
  );
  showSections(true);

  const red = $("reduction");
  const fields = Object.entries(r.reduction);
  if (fields.length) {
    red.replaceChildren(el("dl", { class: "kv" }, fields.map(([f, vs]) => [
      el("dt", { text: f }),
      el("dd", {}, el("div", { class: "chips" }, vs.length ? vs.map((v) => el("span", { class: "chip", text: v })) : el("span", { class: "none", text: "nothing" }))),
    ])));
  } else {
    red.replaceChildren(el("p", { class: "none", text: granted ? "None: every row is visible." : "Nothing is visible." }));
  }

  $("omitted").replaceChildren(r.omitted.length
    ? el("div", { class: "chips" }, r.omitted.map((f) => el("span", { class: "chip off", text: f })))
    : el("p", { class: "none", text: "None." }));

  $("matched").replaceChildren(r.matched_rows.length
    ? el("ul", { class: "rows" }, r.matched_rows.map((m) => el("li", {}, `${m.table} row ${m.row}`, m.line ? el("span", { class: "muted", text: ` \u00b7 line ${m.line}` }) : null)))
    : el("p", { class: "none", text: "No security row." }));

  $("notes-card").hidden = r.notes.length === 0;
  $("notes").replaceChildren(...r.notes.map((n) => el("li", {}, withCode(n.message), " ", el("span", { class: "muted", text: "[" + n.code + "]" }))));

  const tbody = $("counts").tBodies[0];
  const names = Object.keys(r.tables);
  tbody.replaceChildren(...names.map((name) => {
    const t = r.tables[name];
    const pct = t.total ? Math.round((100 * t.rows) / t.total) : 0;
    return el("tr", {},
      el("th", { scope: "row", text: name }),
      el("td", { class: "num", text: t.rows.toLocaleString() }),
      el("td", { class: "num", text: t.total.toLocaleString() }),
      el("td", { title: pct + "%" }, el("div", { class: "bar", role: "img", "aria-label": pct + " percent" }, el("span", { style: null }))));
  }));
  // Widths are set through the CSSOM: the page's policy forbids inline style attributes.
  Array.from(tbody.querySelectorAll(".bar span")).forEach((span, i) => {
    const t = r.tables[names[i]];
    span.style.width = (t.total ? (100 * t.rows) / t.total : 0) + "%";
  });
  $("tables-card").hidden = names.length === 0;

  const select = $("table-select");
  const previous = state.table;
  select.replaceChildren(...names.map((n) => el("option", { value: n, text: `${n} (${r.tables[n].rows})` })));
  $("grid-card").hidden = !granted || names.length === 0;
  if (!granted || names.length === 0) return;
  state.table = names.includes(previous) ? previous : names[0];
  select.value = state.table;
  if (!keepPage) state.offset = 0;
  loadRows();
}

async function loadRows() {
  const req = state.request;
  if (!req || !state.table) return;
  const q = new URLSearchParams();
  const opts = {};
  if (req.token) {
    opts.headers = { Authorization: "Bearer " + req.token };
  } else {
    if (req.identity.userid) q.append("userid", req.identity.userid);
    if (req.identity.email) q.append("email", req.identity.email);
    for (const g of req.identity.groups || []) q.append("group", g);
  }
  q.append("offset", String(state.offset));
  q.append("limit", String(PAGE));
  const { body, ok } = await api(`/api/tables/${encodeURIComponent(state.table)}?${q}`, opts);
  const grid = $("grid");
  if (!ok || !body) {
    grid.tHead.replaceChildren();
    grid.tBodies[0].replaceChildren(el("tr", {}, el("td", { text: body ? body.message : "No answer." })));
    $("page-info").textContent = "";
    return;
  }
  if (body.rows > 0 && body.offset >= body.rows) {
    state.offset = Math.max(0, Math.floor((body.rows - 1) / PAGE) * PAGE);
    return loadRows();
  }
  grid.tHead.replaceChildren(el("tr", {}, el("th", { scope: "col", class: "num", text: "#" }), body.fields.map((f) => el("th", { scope: "col", text: f }))));
  grid.tBodies[0].replaceChildren(...body.data.map((row, i) => el("tr", {},
    el("td", { class: "num muted", text: String(body.offset + i + 1) }),
    row.map((c) => el("td", c === "" ? { class: "null", text: "\u2013" } : { text: c })))));
  if (body.data.length === 0) grid.tBodies[0].append(el("tr", {}, el("td", { colspan: String(body.fields.length + 1), class: "none", text: "No rows are visible in this table." })));
  const first = body.rows ? body.offset + 1 : 0;
  const last = body.offset + body.data.length;
  $("page-info").textContent = `rows ${first.toLocaleString()}\u2013${last.toLocaleString()} of ${body.rows.toLocaleString()} (table total ${body.total.toLocaleString()})`;
  $("prev").disabled = body.offset === 0;
  $("next").disabled = last >= body.rows;
}

// ---- audit ---------------------------------------------------------------

async function loadAudit() {
  if (!state.audit) {
    const { body, ok } = await api("/api/audit");
    if (!ok || !body) {
      $("findings").replaceChildren(el("li", {}, el("span"), el("span", { class: "msg", text: body ? body.message : "No answer." })));
      return;
    }
    state.audit = body;
  }
  renderMatrix();
  renderFindings();
}

function renderMatrix() {
  const a = state.audit;
  const tables = Object.keys(a.tables);
  const filter = $("matrix-filter").value.trim().toLowerCase();
  const matrix = $("matrix");
  matrix.tHead.replaceChildren(el("tr", {},
    el("th", { scope: "col", text: "Identity" }),
    el("th", { scope: "col", text: "Decision" }),
    el("th", { scope: "col", text: "Access" }),
    el("th", { scope: "col", text: "Reduction" }),
    el("th", { scope: "col", text: "Omitted" }),
    tables.map((t) => el("th", { scope: "col", class: "num", text: `${t} (${a.tables[t]})` }))));
  const rows = a.identities.filter((r) => !filter || JSON.stringify(r).toLowerCase().includes(filter));
  const granted = a.identities.filter((r) => r.decision === "granted").length;
  $("matrix-summary").textContent = `${a.identities.length} identities named in section access: ${granted} granted, ${a.identities.length - granted} denied` +
    (filter ? ` (${rows.length} shown)` : "") + ". Select a row to preview it.";
  matrix.tBodies[0].replaceChildren(...rows.map((r) => {
    const red = Object.entries(r.reduction).map(([f, vs]) => `${f} = ${vs.join(", ")}`).join("; ");
    const open = () => previewListed(r.identity);
    return el("tr", { tabindex: "0", onclick: open, onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } } },
      el("th", { scope: "row", text: r.label }),
      el("td", { class: r.decision, text: r.decision + (r.reason ? ": " + r.reason : "") }),
      el("td", { text: r.access || "\u2013" }),
      el("td", { text: red || (r.decision === "granted" ? "all rows" : "\u2013") }),
      el("td", { text: r.omitted.join(", ") || "\u2013" }),
      tables.map((t) => {
        const c = r.tables[t];
        return el("td", { class: "num" + (c && c.rows === 0 ? " zero" : ""), text: c ? c.rows.toLocaleString() : "\u2013" });
      }));
  }));
  if (rows.length === 0) matrix.tBodies[0].append(el("tr", {}, el("td", { colspan: String(5 + tables.length), class: "none", text: a.identities.length ? "No identity matches the filter." : "The security tables name no identity." })));
}

function renderFindings() {
  const list = $("findings");
  const f = state.audit.findings;
  if (!f.length) {
    list.replaceChildren(el("li", {}, el("span", { class: "sev info", text: "ok" }), el("span", { class: "msg", text: "No findings." })));
    return;
  }
  list.replaceChildren(...f.map((x) => el("li", {},
    el("span", { class: "sev " + x.severity, text: x.severity }),
    el("span", { class: "msg" }, withCode(x.message)),
    el("span", { class: "meta" }, el("code", { text: x.code }), x.location ? ` \u00b7 ${x.location.file}:${x.location.line}` : "", x.help ? [" \u00b7 ", ...withCode(x.help)] : []))));
}

// ---- wiring --------------------------------------------------------------

function previewListed(identity) {
  $("userid").value = identity.userid || "";
  $("email").value = identity.email || "";
  $("groups").value = (identity.groups || []).join(", ");
  selectTab("preview");
  runPreview({ identity: { userid: identity.userid, email: identity.email, groups: identity.groups || [] } });
}

function selectTab(name) {
  for (const t of ["preview", "audit", "who"]) {
    const on = t === name;
    $("tab-" + t).setAttribute("aria-selected", String(on));
    $("tab-" + t).tabIndex = on ? 0 : -1;
    $("panel-" + t).hidden = !on;
  }
  if (name === "audit") loadAudit();
  saveAddress();
}

function wire() {
  $("listed").addEventListener("change", (e) => {
    const id = state.identities[Number(e.target.value)];
    if (e.target.value !== "" && id) previewListed(id);
  });
  $("form-listed").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = state.identities[Number($("listed").value)];
    if (id) previewListed(id);
  });
  $("form-typed").addEventListener("submit", (e) => {
    e.preventDefault();
    const groups = $("groups").value.split(",").map((g) => g.trim()).filter(Boolean);
    const identity = { userid: $("userid").value.trim() || null, email: $("email").value.trim() || null, groups };
    $("listed").value = "";
    runPreview({ identity });
  });
  $("form-token").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("token").value.replace(/^\s*bearer\s+/i, "").replace(/\s+/g, "");
    $("listed").value = "";
    runPreview({ token });
  });
  $("token").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("form-token").requestSubmit();
    }
  });
  $("table-select").addEventListener("change", (e) => {
    state.table = e.target.value;
    state.offset = 0;
    saveAddress();
    loadRows();
  });
  $("who-table").addEventListener("change", fillWhoFields);
  $("form-who").addEventListener("submit", (e) => {
    e.preventDefault();
    askWho();
  });
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadRows(); });
  $("next").addEventListener("click", () => { state.offset += PAGE; loadRows(); });
  $("matrix-filter").addEventListener("input", () => { if (state.audit) renderMatrix(); });
  const tabs = ["preview", "audit", "who"];
  for (const t of tabs) {
    $("tab-" + t).addEventListener("click", () => selectTab(t));
    $("tab-" + t).addEventListener("keydown", (e) => {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      const next = tabs[(tabs.indexOf(t) + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      selectTab(next);
      $("tab-" + next).focus();
    });
  }
}

async function start() {
  wire();
  await loadStatus();
  await loadIdentities();
  await restoreAddress();
  if (state.status && state.status.watch) setInterval(loadStatus, 1500);
}

document.addEventListener("DOMContentLoaded", start);
