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

  check(errors.length === 0, "no script errors in the page" + (errors.length ? ": " + errors.join("; ") : ""));
} catch (e) {
  failed = e instanceof CheckFailed ? e.message : String(e && e.stack ? e.stack : e);
  if (shots) await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
if (failed) fail(failed + (shots ? ` (screenshot: ${join(shots, "failure.png")})` : ""));
console.log("all browser checks passed");
