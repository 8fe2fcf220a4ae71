// harness.mjs — what the browser tests share: a throwaway httpd with the
// module (scripts/httpd.sh, its logs copied to build/test-logs/browser/ when
// it stops), Debian's headless Chromium through playwright-core, contexts
// that reach 127.0.0.1 only, and helpers to open the playground, wait for a
// run to end and collect the page's errors.
import { before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../..");
export const logDir = path.join(root, "build/test-logs/browser");
const httpdSh = path.join(root, "scripts/httpd.sh");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// Run uids: the default PySandboxUserRange of conf/httpd-test.conf.in,
// moved by PYSB_TEST_UID_SHIFT (as scripts/httpd.sh does). Each server takes
// its own hundred of it (uidBlock 0..9), so that test files running at once
// never share a run uid and each sees only its own run processes.
const UID_SHIFT = Number(process.env.PYSB_TEST_UID_SHIFT || 0);
const UID_BASE = 600000 + UID_SHIFT;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sh(args, env = {}) {
  return execFileSync(httpdSh, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30000,
                                       env: { ...process.env, ...env } });
}

// Starts an httpd (extraConf: text added to the generated configuration,
// where @DIR@ and @WWW@ stand for its directory and its copy of conf/www);
// returns {base, stop, uids: [first, last]}. `name` tells its logs apart
// in logDir. With `tls`, base is its HTTPS port (HTTP/2 and http/1.1 by
// ALPN, a self-signed certificate: scripts/httpd.sh HTTPD_TLS_PORT).
export async function startServer({ name = "httpd", mpm = "event", extraConf = "", uidBlock = 0, tls = false } = {}) {
  assert.ok(uidBlock >= 0 && uidBlock <= 9, "uidBlock is 0..9");
  const uids = [UID_BASE + 100 * uidBlock, UID_BASE + 100 * uidBlock + 99];
  assert.ok(fs.existsSync(path.join(root, "build/mod_pysandbox.so")), "build/mod_pysandbox.so is missing: run make");
  fs.mkdirSync(logDir, { recursive: true });
  // Not under a 0700 temp dir: www-data must reach DIR/run and DIR/www.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pysb-browser."));
  fs.chmodSync(dir, 0o755);
  const extra = path.join(dir, "extra.conf");
  const conf = extraConf.replaceAll("@DIR@", dir).replaceAll("@WWW@", path.join(dir, "www"));
  fs.writeFileSync(extra, `PySandboxUserRange ${uids[0]} ${uids[1]}\n${conf}`);
  let base = null, lastErr = null;
  for (let i = 0; i < 3 && !base; i++) {
    const port = sh(["free-port"]).trim(), tlsPort = tls ? sh(["free-port"]).trim() : null;
    if (port === tlsPort) continue;
    try {
      sh(["start", dir, port, mpm, extra], tls ? { HTTPD_TLS_PORT: tlsPort } : {});
      base = tls ? `https://127.0.0.1:${tlsPort}` : `http://127.0.0.1:${port}`;
    } catch (e) {
      lastErr = e;
      try { sh(["stop", dir]); } catch (_) { /* not started */ }
    }
  }
  const stop = () => {
    try { sh(["stop", dir]); } catch (e) { console.error("# httpd stop:", e.message); }
    for (const f of ["error.log", "access.log"]) {
      try { fs.copyFileSync(path.join(dir, f), path.join(logDir, name === "httpd" ? f : `${name}.${f}`)); } catch (_) { /* none */ }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (!base) {
    stop();
    assert.fail(`httpd did not start: ${lastErr && (lastErr.stderr || lastErr.message)}`);
  }
  return { base, stop, uids };
}

// tls: the browser accepts the test server's self-signed certificate.
export async function launchBrowser({ tls = false } = {}) {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/deps.sh test installs it`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           ...(tls ? ["--ignore-certificate-errors"] : [])],
  });
}

// A context whose traffic goes to 127.0.0.1 only; 1280×900 unless told.
export async function newContext(browser, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts });
  ctx.setDefaultTimeout(10000);
  await ctx.route(/.*/, (route) => {
    const u = new URL(route.request().url());
    return u.hostname === "127.0.0.1" ? route.continue() : route.abort();
  });
  return ctx;
}

// The hooks of a test file: before all, a server (startServer options) and
// a browser with one context (newContext options, and permissions granted
// for the server's origin); after each test the page it opened is closed
// (its localStorage emptied first);
// after all, everything stops. The object returned holds them, and open()
// opens a page (the current one: page, errors) as openPage does. A file's
// own before hook awaits `ready` (node may start top-level hooks at once).
export function setup({ server: serverOpts = {}, context: ctxOpts = {}, permissions = [] } = {}) {
  const s = { server: null, base: null, browser: null, context: null, page: null, errors: [] };
  let started;
  s.ready = new Promise((resolve, reject) => { started = { resolve, reject }; });
  s.ready.catch(() => {}); // reported by the hook below
  before(async () => {
    try {
      s.server = await startServer(serverOpts);
      s.base = s.server.base;
      s.browser = await launchBrowser({ tls: !!serverOpts.tls });
      s.context = await newContext(s.browser, serverOpts.tls ? { ignoreHTTPSErrors: true, ...ctxOpts } : ctxOpts);
      if (permissions.length) await s.context.grantPermissions(permissions, { origin: s.base });
      started.resolve(s);
    } catch (e) {
      started.reject(e);
      throw e;
    }
  });
  after(async () => {
    // Each step on its own: a failure of one must not skip the others.
    try { if (s.browser) await s.browser.close(); } catch (_) { /* gone */ }
    if (s.server) s.server.stop();
  });
  afterEach(async () => {
    if (s.page) {
      // What a test left in localStorage must not reach the next one.
      try { await s.page.evaluate(() => localStorage.clear()); } catch (_) { /* navigated away, closed */ }
      try { await s.page.close(); } catch (_) { /* closed */ }
      s.page = null;
    }
  });
  s.open = async (url = `${s.base}/`, ctx = s.context) => {
    ({ page: s.page, errors: s.errors } = await openPage(ctx, url));
    return s.page;
  };
  s.noPageErrors = (allowed = null) => noPageErrors(s.errors, allowed);
  return s;
}

// Opens url (the playground) in a new page of ctx and waits until the page
// has restored its program and shown the limits of ?info=1. Returns
// {page, errors}: errors collects script errors and console errors.
export async function openPage(ctx, url) {
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  const resp = await page.goto(url);
  assert.equal(resp.status(), 200);
  await page.locator("html[data-ready]").waitFor({ state: "attached" });
  await page.locator("#limits small.hint").nth(3).waitFor();
  return { page, errors };
}

// No script error and no console error (but those matching `allowed`, such
// as the browser's own line for an expected HTTP 400).
export function noPageErrors(errors, allowed = null) {
  assert.deepEqual(errors.filter((e) => !(allowed && allowed.test(e))), [], "errors on the page");
}

// Waits for the run to end: the status no longer says "running…" or "busy"
// and Run is enabled again. Returns the status text.
export async function runEnds(page, timeout = 15000) {
  await page.waitForFunction(() => {
    const s = document.getElementById("status");
    return s.textContent && !/^(running|busy)/.test(s.textContent) && !document.getElementById("run").disabled;
  }, null, { timeout });
  return page.locator("#status").textContent();
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(logDir, name + ".png") });
}

// Processes whose real or effective uid is one of a server's run uids
// ([first, last]; ps -U/-u with the whole range: ps selects the union).
export function runProcesses([first, last]) {
  const uids = [];
  for (let u = first; u <= last; u++) uids.push(u);
  const list = uids.join(",");
  try {
    return execFileSync("ps", ["-U", list, "-u", list, "-o", "pid=,ruid=,euid=,args="],
                        { encoding: "utf8", timeout: 5000 }).trim();
  } catch (e) {
    if (e.status === 1) return ""; // ps: nothing selected
    throw e;
  }
}
