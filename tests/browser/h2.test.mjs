// h2.test.mjs — the playground once over HTTPS with HTTP/2 (issue 12): a
// throwaway httpd with a TLS port (scripts/httpd.sh, HTTPD_TLS_PORT, a
// certificate made by openssl) and headless Chromium that ignores the
// self-signed certificate. The page and its fetches go over h2; hello
// world runs; output streams into the page while the program runs; Stop
// (the fetch aborted: an RST_STREAM) leaves no run process.
//
// Its own server and uid block (601160-601169, moved by
// PYSB_TEST_UID_SHIFT), so it can run beside playground.test.mjs.
// Screenshots and the server's logs go to build/test-logs/browser-h2/.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const httpdSh = path.join(root, "scripts/httpd.sh");
const logDir = path.join(root, "build/test-logs/browser-h2");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const UID_FIRST = 601160 + Number(process.env.PYSB_TEST_UID_SHIFT || 0), UID_LAST = UID_FIRST + 9;

let srvDir = null, base = null, browser = null, context = null, page = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sh(args, env = {}) {
  return execFileSync(httpdSh, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30000,
                                       env: { ...process.env, ...env } });
}

// pids of live processes whose real or effective uid is a run uid.
function runProcesses() {
  const out = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/status`, "utf8");
      const uid = /\nUid:\s+(\d+)\s+(\d+)/.exec(st), state = /\nState:\s+(\S)/.exec(st);
      if (uid && state && state[1] !== "Z" &&
          [+uid[1], +uid[2]].some((u) => u >= UID_FIRST && u <= UID_LAST)) out.push(d);
    } catch (_) { /* gone */ }
  }
  return out.join(" ");
}

before(async () => {
  assert.ok(fs.existsSync(path.join(root, "build/mod_pysandbox.so")), "build/mod_pysandbox.so is missing: run make");
  fs.mkdirSync(logDir, { recursive: true });
  srvDir = fs.mkdtempSync(path.join(os.tmpdir(), "pysb-browser-h2."));
  fs.chmodSync(srvDir, 0o755);
  fs.writeFileSync(path.join(srvDir, "extra.conf"), `PySandboxUserRange ${UID_FIRST} ${UID_LAST}\n`);
  let lastErr = null;
  for (let i = 0; i < 3 && !base; i++) {
    const port = sh(["free-port"]).trim(), tlsPort = sh(["free-port"]).trim();
    if (port === tlsPort) continue;
    try {
      sh(["start", srvDir, port, "event", path.join(srvDir, "extra.conf")], { HTTPD_TLS_PORT: tlsPort });
      base = `https://127.0.0.1:${tlsPort}`;
    } catch (e) {
      lastErr = e;
      try { sh(["stop", srvDir]); } catch (_) { /* not started */ }
    }
  }
  assert.ok(base, `httpd did not start: ${lastErr && (lastErr.stderr || lastErr.message)}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--ignore-certificate-errors"],
  });
  context = await browser.newContext({ viewport: { width: 1100, height: 900 }, ignoreHTTPSErrors: true });
  context.setDefaultTimeout(10000);
  await context.route(/.*/, (route) =>
    new URL(route.request().url()).hostname === "127.0.0.1" ? route.continue() : route.abort());
});

after(async () => {
  try { if (browser) await browser.close(); } catch (_) { /* gone */ }
  if (srvDir) {
    try { sh(["stop", srvDir]); } catch (e) { console.error("# httpd stop:", e.message); }
    for (const f of ["error.log", "access.log"]) {
      try { fs.copyFileSync(path.join(srvDir, f), path.join(logDir, f)); } catch (_) { /* none */ }
    }
    fs.rmSync(srvDir, { recursive: true, force: true });
  }
});

afterEach(async () => {
  if (page) {
    try { await page.close(); } catch (_) { /* closed */ }
    page = null;
  }
});

async function openPage() {
  page = await context.newPage();
  const resp = await page.goto(`${base}/`);
  assert.equal(resp.status(), 200);
  await page.locator("#limits small.hint").nth(3).waitFor();
  return page;
}

async function runEnds(timeout = 15000) {
  await page.waitForFunction(() => {
    const s = document.getElementById("status");
    return s.textContent && !s.textContent.startsWith("running") && !document.getElementById("run").disabled;
  }, null, { timeout });
  return page.locator("#status").textContent();
}

// The protocol of the page and of its last request to /run.
const protocols = () => page.evaluate(() => ({
  page: performance.getEntriesByType("navigation")[0].nextHopProtocol,
  run: performance.getEntriesByType("resource").filter((e) => /\/run(\?|$)/.test(e.name))
    .map((e) => e.nextHopProtocol).pop(),
}));

test("h2: the page and its runs go over HTTP/2; hello world shows its output and ok", async () => {
  await openPage();
  await page.selectOption("#example", "hello");
  await page.click("#run");
  const status = await runEnds();
  assert.equal(await page.locator("#output-area").textContent(), "hello world\n");
  assert.match(status, /^ok — OK · /);
  assert.deepEqual(await protocols(), { page: "h2", run: "h2" });
  await page.screenshot({ path: path.join(logDir, "hello-world-h2.png"), fullPage: true });
});

test("h2: output streams into the page while the program runs", async () => {
  await openPage();
  await page.selectOption("#example", "stream");
  const t0 = Date.now();
  await page.click("#run");
  await page.locator("#output-area", { hasText: "tick 0" }).waitFor({ timeout: 1500 });
  const first = Date.now() - t0;
  assert.match(await page.locator("#status").textContent(), /^running/);
  assert.doesNotMatch(await page.locator("#output-area").textContent(), /tick 4/);
  const status = await runEnds();
  assert.match(status, /^ok — /);
  assert.equal(await page.locator("#output-area").textContent(), "tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n");
  assert.equal((await protocols()).run, "h2");
  console.log(`# h2: the first tick on the page ${first} ms after Run`);
});

test("h2: Stop ends the infinite loop (a stream reset); no run process remains within 2 s", async () => {
  await openPage();
  await page.selectOption("#example", "loop");
  await page.click("#run");
  const t0 = Date.now();
  while (!runProcesses() && Date.now() - t0 < 3000) await sleep(20);
  assert.ok(runProcesses(), "no run process while the loop runs");
  await sleep(300);
  await page.click("#stop");
  const tStop = Date.now();
  assert.match(await runEnds(5000), /stopped/);
  let left = runProcesses();
  while (left && Date.now() - tStop < 2000) {
    await sleep(5);
    left = runProcesses();
  }
  assert.equal(left, "", `run processes still there ${Date.now() - tStop} ms after Stop: ${left}`);
  console.log(`# h2: run processes gone ${Date.now() - tStop} ms after Stop`);
  // and the connection goes on: the next run works
  await page.selectOption("#example", "hello");
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  assert.equal((await protocols()).run, "h2");
});
