// Drives the `section-access serve` page in Debian's headless Chromium.
//
// Run by `tests/it/serve_browser.rs`, which starts the server on the Qlik Core
// tutorial script (engine profile, HS256 secret `passw0rd`) and passes:
//   SERVE_URL      the page, e.g. http://127.0.0.1:41234/
//   VALID_TOKEN    a token for `uk-user` signed with the secret
//   EXPIRED_TOKEN  a token for `uk-user` that expired before the server's clock
//   SCREENSHOTS    optional folder for PNG screenshots
//   CHROMIUM       optional browser path [default: /usr/bin/chromium]
// Exits non-zero on the first failed check; nothing is skipped.

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const url = process.env.SERVE_URL;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = process.env.SCREENSHOTS;

function fail(message) {
  console.error("FAIL: " + message);
  process.exit(1);
}

if (!url) fail("SERVE_URL is not set (run this through `cargo test --test it serve_browser -- --ignored`)");
if (!existsSync(executablePath)) {
  fail(`no Chromium at ${executablePath}: install it with \`apt-get install -y chromium\` (ci/browser-setup.sh does) or set CHROMIUM`);
}

class CheckFailed extends Error {}

function check(cond, message) {
  if (!cond) throw new CheckFailed(message);
  console.log("ok - " + message);
}

// launch() gives the browser a fresh, empty profile of its own.
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const errors = [];
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
let failed = null;
try {
  page.setDefaultTimeout(10000);
  page.on("pageerror", (e) => errors.push(String(e)));
  // The 401 answers to bad tokens are expected; any other console error is not.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().includes("status of 401")) errors.push(m.text());
  });
  if (shots) mkdirSync(shots, { recursive: true });
  const snap = async (name) => { if (shots) await page.screenshot({ path: join(shots, name), fullPage: true }); };

  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll("#listed option").length > 1);
  const listed = await page.$$eval("#listed option", (os) => os.map((o) => o.textContent));
  check(listed.includes("US-USER") && listed.includes("ADMIN"), "the identity list names US-USER and ADMIN");
  await snap("01-start.png");

  // Pick a listed identity: granted, reduced to US, three rows in the grid.
  await page.selectOption("#listed", { label: "US-USER" });
  await page.waitForSelector("#decision-badge");
  check((await page.textContent("#decision-badge")) === "GRANTED", "US-USER is granted");
  await page.waitForFunction(() => document.querySelectorAll("#grid tbody tr").length === 3);
  const rows = await page.$$eval("#grid tbody tr", (trs) => trs.map((tr) => Array.from(tr.cells).map((c) => c.textContent)));
  check(rows.every((r) => r[1] === "US"), "every grid row of US-USER has COUNTRY US");
  check(JSON.stringify(rows.map((r) => r[3])) === JSON.stringify(["101", "102", "103"]), "the grid shows SALES_AMOUNT 101, 102, 103");
  check((await page.textContent("#reduction")).includes("US"), "the reduction shows COUNTRY = US");
  check((await page.textContent("#page-info")).includes("of 3"), "the pager says 3 rows");
  check(await page.isDisabled("#next"), "there is no next page");
  await snap("02-granted.png");

  // Type an identity with the keyboard only: Enter submits.
  await page.fill("#userid", "nobody");
  await page.press("#userid", "Enter");
  await page.waitForFunction(() => document.querySelector("#decision-badge")?.textContent === "DENIED");
  check((await page.textContent("#decision")).includes("no-matching-row"), "an unknown user is denied: no-matching-row");
  check(await page.isHidden("#grid-card"), "a denied identity gets no grid");
  await snap("03-denied.png");

  // A token that fails verification: 401 like the engine.
  await page.fill("#token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1ay11c2VyIn0.");
  await page.press("#token", "Enter");
  await page.waitForFunction(() => document.querySelector("#decision")?.textContent.includes("401"));
  check((await page.textContent("#decision")).includes("alg-none-rejected"), "an unsigned token is refused in mode 2 (alg-none-rejected)");
  await snap("04-unauthorized.png");

  if (process.env.EXPIRED_TOKEN) {
    await page.fill("#token", process.env.EXPIRED_TOKEN);
    await page.click("#form-token button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#decision")?.textContent.includes("expired"));
    check(true, "an expired token is refused");
  }

  // A valid token: the identity comes from `sub`, the grid from the token.
  await page.fill("#token", process.env.VALID_TOKEN || "");
  await page.click("#form-token button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#decision-badge")?.textContent === "GRANTED");
  await page.waitForFunction(() => Array.from(document.querySelectorAll("#grid tbody tr")).every((tr) => tr.cells[1]?.textContent === "UK"));
  check((await page.textContent("#decision")).includes("UK-USER"), "a valid token previews its subject UK-USER");
  await snap("05-token.png");

  // The audit tab, reached with the arrow keys.
  await page.focus("#tab-preview");
  await page.keyboard.press("ArrowRight");
  await page.waitForFunction(() => document.querySelectorAll("#matrix tbody tr").length === 4);
  check(await page.isHidden("#panel-preview"), "the arrow key switches to the audit tab");
  const matrix = await page.$$eval("#matrix tbody tr", (trs) => trs.map((tr) => tr.textContent));
  check(matrix.some((r) => r.includes("DE-USER") && r.includes("COUNTRY = DE")), "the matrix lists DE-USER reduced to DE");
  await snap("06-audit.png");

  // A matrix row opens its preview.
  await page.click("#matrix tbody tr:has-text('DE-USER')");
  await page.waitForFunction(() => !document.querySelector("#panel-preview").hidden);
  await page.waitForFunction(() => {
    const trs = Array.from(document.querySelectorAll("#grid tbody tr"));
    return trs.length === 3 && trs.every((tr) => tr.cells[1]?.textContent === "DE");
  });
  check(true, "selecting DE-USER in the matrix shows its three DE rows");

  // The page's state is in its address: a link in a ticket opens the same view.
  await page.goto(new URL("/?user=us-user&table=Sales", url).toString());
  await page.waitForFunction(() => document.querySelector("#decision-badge")?.textContent === "GRANTED");
  await page.waitForFunction(() => document.querySelectorAll("#grid tbody tr").length === 3);
  check((await page.textContent("#decision")).includes("US-USER"), "the address ?user=us-user&table=Sales opens US-USER's preview");

  // The reduced model as Qlik users read it: selected, possible, excluded.
  await page.waitForSelector("#model .chip");
  const chips = await page.$$eval("#model .chip", (cs) => cs.map((c) => [c.textContent, c.dataset.state]));
  check(JSON.stringify(chips) === JSON.stringify([["US", "selected"], ["UK", "excluded"], ["DE", "excluded"]]), "the model shows COUNTRY US selected, UK and DE excluded");

  // The matched security row in the script's own text, at the line the CLI prints.
  await page.waitForSelector("#script li.hit");
  const hits = await page.$$eval("#script li.hit", (ls) => ls.map((l) => [l.dataset.line, l.textContent]));
  check(hits.length === 1 && hits[0][0] === "6" && hits[0][1].includes("us-user"), "the script highlights the matched row us-user at line 6");
  check((await page.textContent("#matched")).includes("line 6"), "the matched rows list names the same line 6");
  await snap("07-address-model-script.png");

  // Choosing another identity rewrites the address; a token never enters it.
  await page.selectOption("#listed", { label: "UK-USER" });
  await page.waitForFunction(() => new URLSearchParams(location.search).get("user") === "UK-USER");
  check(true, "choosing UK-USER puts user=UK-USER in the address");
  await page.fill("#token", process.env.VALID_TOKEN || "");
  await page.click("#form-token button[type=submit]");
  await page.waitForFunction(() => !new URLSearchParams(location.search).has("user"));
  check(!(await page.evaluate(() => location.href)).includes("eyJ"), "a token preview leaves neither the token nor an identity in the address");

  // Who can see? answered from the audit, with the granting lines.
  await page.click("#tab-who");
  await page.selectOption("#who-table", "Sales");
  await page.selectOption("#who-field", "COUNTRY");
  await page.fill("#who-value", "UK");
  await page.check("#who-denied");
  await page.click("#form-who button[type=submit]");
  await page.waitForSelector("#who-can li");
  const can = await page.$$eval("#who-can li", (ls) => ls.map((l) => l.textContent));
  check(can.some((t) => t.includes("UK-USER") && t.includes("script.qvs:7")), "UK-USER sees COUNTRY=UK through script.qvs:7");
  check(can.some((t) => t.includes("ADMIN")) && !can.some((t) => t.includes("US-USER")), "ADMIN sees it, US-USER does not");
  const cannot = await page.$$eval("#who-cannot li", (ls) => ls.map((l) => l.textContent));
  check(cannot.some((t) => t.includes("US-USER") && t.includes("reduced-away")), "US-USER cannot: reduced-away");
  const search = await page.evaluate(() => location.search);
  check(search.includes("tab=who") && search.includes("value=UK"), "the question is in the address");
  await snap("08-who.png");
  await page.reload();
  await page.waitForSelector("#who-can li");
  check(!(await page.isHidden("#panel-who")), "reloading the address opens the same question again");

  check(errors.length === 0, "no script errors in the page" + (errors.length ? ": " + errors.join("; ") : ""));
} catch (e) {
  failed = e instanceof CheckFailed ? e.message : String(e && e.stack ? e.stack : e);
  if (shots) await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
if (failed) fail(failed + (shots ? ` (screenshot: ${join(shots, "failure.png")})` : ""));
console.log("all browser checks passed");
