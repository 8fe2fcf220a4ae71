// playground.test.mjs — the playground page (conf/www) in headless
// Chromium against a throwaway httpd with the module: limits shown from
// ?info=1, Run / Tab / Ctrl+Enter / Stop, the examples, streaming, and
// EventSource on the SSE format.
//
// Run: node --test tests/browser/   (or --test-reporter=tap, as run-all.sh)
// Needs: build/mod_pysandbox.so (make), /usr/bin/chromium, npm ci here.
// Screenshots and the server's logs go to build/test-logs/browser/.
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
const logDir = path.join(root, "build/test-logs/browser");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// Run uids: the default PySandboxUserRange of conf/httpd-test.conf.in.
// PYSB_TEST_UID_SHIFT moves it (scripts/httpd.sh applies the same shift).
const UID_SHIFT = Number(process.env.PYSB_TEST_UID_SHIFT || 0);
const UID_FIRST = 600000 + UID_SHIFT, UID_LAST = 600999 + UID_SHIFT;

let srvDir = null, base = null, browser = null, context = null, info = null;
let page = null, pageErrors = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sh(args, opts = {}) {
  return execFileSync(httpdSh, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30000, ...opts });
}

before(async () => {
  assert.ok(fs.existsSync(path.join(root, "build/mod_pysandbox.so")), "build/mod_pysandbox.so is missing: run make");
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/deps.sh test installs it`);
  fs.mkdirSync(logDir, { recursive: true });
  // Not under a 0700 temp dir: www-data must reach DIR/run and DIR/www.
  srvDir = fs.mkdtempSync(path.join(os.tmpdir(), "pysb-browser."));
  fs.chmodSync(srvDir, 0o755);
  let lastErr = null;
  for (let i = 0; i < 3 && !base; i++) {
    const port = sh(["free-port"]).trim();
    try {
      sh(["start", srvDir, port, "event"]);
      base = `http://127.0.0.1:${port}`;
    } catch (e) {
      lastErr = e;
      try { sh(["stop", srvDir]); } catch (_) { /* not started */ }
    }
  }
  assert.ok(base, `httpd did not start: ${lastErr && (lastErr.stderr || lastErr.message)}`);
  const r = await fetch(`${base}/run?info=1`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  info = await r.json();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  context.setDefaultTimeout(10000);
  // Traffic only to our server.
  await context.route(/.*/, (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === "127.0.0.1") return route.continue();
    return route.abort();
  });
});

after(async () => {
  // Each step on its own: a failure of one must not skip the others.
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

// A fresh page on "/", with the limits from ?info=1 already shown.
async function openPage() {
  page = await context.newPage();
  pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(`console: ${m.text()}`); });
  const resp = await page.goto(`${base}/`);
  assert.equal(resp.status(), 200);
  await page.locator("#limits small.hint").nth(3).waitFor();
  return page;
}

// No script error and no console error on the page (but those matching
// allowed, e.g. the browser's own log line for an expected HTTP 400).
function noPageErrors(allowed = null) {
  assert.deepEqual(pageErrors.filter((e) => !(allowed && allowed.test(e))), [], "errors on the page");
}

// Waits for the run to end: the status is no longer "running…" and Run is
// enabled again. Returns the status text.
async function runEnds(timeout = 15000) {
  await page.waitForFunction(() => {
    const s = document.getElementById("status");
    return s.textContent && !s.textContent.startsWith("running") && !document.getElementById("run").disabled;
  }, null, { timeout });
  return page.locator("#status").textContent();
}

async function chooseExample(name) {
  await page.selectOption("#example", name);
}

const outputText = () => page.locator("#output-area").textContent();

// Processes whose real or effective uid is a run uid (ps -U/-u with the
// whole range: ps selects the union).
function runProcesses() {
  const uids = [];
  for (let u = UID_FIRST; u <= UID_LAST; u++) uids.push(u);
  const list = uids.join(",");
  try {
    return execFileSync("ps", ["-U", list, "-u", list, "-o", "pid=,ruid=,euid=,args="],
                        { encoding: "utf8", timeout: 5000 }).trim();
  } catch (e) {
    if (e.status === 1) return ""; // ps: nothing selected
    throw e;
  }
}

const size = (n) => (n % 1048576 === 0 ? `${n / 1048576}M` : n % 1024 === 0 ? `${n / 1024}K` : String(n));
const STATS = /wall \d+\.\d{3} s · cpu \d+\.\d{3} s · memory [1-9]\d* KiB$/;

test("the limit fields show the Location's defaults and maximums (?info=1)", async () => {
  // conf/httpd-test.conf.in: CPU 5 10, wall 10 20, memory 256M 512M, output 1M 4M.
  assert.deepEqual([info.cpu_time, info.wall_time], [{ default: 5, max: 10 }, { default: 10, max: 20 }]);
  assert.deepEqual([info.memory, info.output],
                   [{ default: 268435456, max: 536870912 }, { default: 1048576, max: 4194304 }]);
  await openPage();
  const want = {
    cpu_time: ["5", "10"], wall_time: ["10", "20"], memory: ["256M", "512M"], output: ["1M", "4M"],
  };
  for (const [id, [def, max]] of Object.entries(want)) {
    // Derived from ?info=1 the same way, so a changed config cannot hide a mismatch.
    const fmt = id === "memory" || id === "output" ? size : String;
    assert.equal(fmt(info[id].default), def);
    assert.equal(fmt(info[id].max), max);
    const input = page.locator(`#${id}`);
    assert.equal(await input.getAttribute("placeholder"), def, `${id} placeholder`);
    assert.equal(await input.inputValue(), "", `${id} is empty (the default applies)`);
    assert.match(await input.getAttribute("title"), new RegExp(`default ${def}, at most ${max}$`));
    const hint = page.locator(`label:has(#${id}) small.hint`);
    assert.equal((await hint.textContent()).trim(), `max ${max}`, `${id} max hint`);
  }
  assert.equal(await page.locator("#limits small.hint").count(), 4);
  // The footer's curl example names this server.
  assert.match(await page.locator("footer").textContent(), new RegExp(`curl -s ${base}/run`));
  noPageErrors();
});

test("hello world: Run shows the output and an ok status with wall/cpu/memory", async () => {
  await openPage();
  await chooseExample("hello");
  assert.equal(await page.inputValue("#code"), 'print("hello world")');
  await page.click("#run");
  const status = await runEnds();
  assert.equal(await outputText(), "hello world\n");
  assert.match(status, /^ok — OK · /);
  assert.match(status, STATS);
  assert.equal(await page.getAttribute("#status", "class"), "ok");
  assert.equal(await page.locator("#output-area span.stderr").count(), 0);
  assert.ok(await page.isDisabled("#stop"), "Stop is disabled after the run");
  await page.screenshot({ path: path.join(logDir, "hello-world.png"), fullPage: true });
  noPageErrors();
});

test("without JavaScript the form posts to the handler and shows the text report", async () => {
  // Its empty limit inputs mean the Location's defaults, and it sends no
  // field the handler does not know (no named button, no named select).
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  await ctx.route(/.*/, (route) => {
    const u = new URL(route.request().url());
    return u.hostname === "127.0.0.1" ? route.continue() : route.abort();
  });
  try {
    const p = await ctx.newPage();
    await p.goto(`${base}/`);
    await p.fill("#code", 'print("no script", input())');
    await p.fill("#stdin", "here");
    const [resp] = await Promise.all([p.waitForNavigation(), p.click("#run")]);
    assert.equal(resp.status(), 200, await resp.text());
    assert.match(resp.headers()["content-type"], /^text\/plain/);
    const text = await resp.text();
    assert.match(text, /^no script here\nOK\nelapsed time: [0-9.]+ seconds\n/);
  } finally {
    await ctx.close();
  }
});

test("Tab in the editor inserts 4 spaces; Ctrl+Enter runs", async () => {
  await openPage();
  const code = page.locator("#code");
  await code.fill("");
  await code.focus();
  await page.keyboard.type("if True:");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  await page.keyboard.type('print("tabbed", 6 * 7)');
  assert.equal(await code.inputValue(), 'if True:\n    print("tabbed", 6 * 7)');
  assert.equal(await page.evaluate(() => document.activeElement.id), "code", "Tab kept the focus");
  // Tab over a selection replaces it with the 4 spaces.
  await code.fill("abcXYZdef");
  await page.evaluate(() => { const c = document.getElementById("code"); c.focus(); c.setSelectionRange(3, 6); });
  await page.keyboard.press("Tab");
  assert.equal(await code.inputValue(), "abc    def");
  await code.fill('if True:\n    print("tabbed", 6 * 7)');
  await code.focus();
  await page.keyboard.press("Control+Enter");
  const status = await runEnds();
  assert.match(status, /^ok — /);
  assert.equal(await outputText(), "tabbed 42\n");
  noPageErrors();
});

test("Stop ends the infinite loop; no run process remains within 2 s", async () => {
  await openPage();
  await chooseExample("loop");
  assert.match(await page.inputValue("#code"), /while True:/);
  await page.click("#run");
  const t0 = Date.now();
  assert.match(await page.locator("#status").textContent(), /^running/);
  // The run exists as a process of a run uid (so the check below can see one).
  let procs = "";
  while (!procs && Date.now() - t0 < 3000) {
    procs = runProcesses();
    if (!procs) await sleep(50);
  }
  assert.ok(procs, "no process with a run uid while the loop runs");
  await sleep(Math.max(0, 1000 - (Date.now() - t0)));
  assert.ok(await page.isEnabled("#stop"), "Stop is enabled while running");
  await page.click("#stop");
  const tStop = Date.now();
  const status = await runEnds(5000);
  assert.match(status, /stopped/);
  assert.equal(await page.getAttribute("#status", "class"), "bad");
  assert.ok(await page.isEnabled("#run"), "Run is enabled again");
  assert.ok(await page.isDisabled("#stop"), "Stop is disabled again");
  let left = runProcesses();
  while (left && Date.now() - tStop < 2000) {
    await sleep(50);
    left = runProcesses();
  }
  assert.equal(left, "", `run processes still there ${Date.now() - tStop} ms after Stop:\n${left}`);
  noPageErrors();
});

test("file-read example: PermissionError on stderr (class stderr), nonzero_exit", async () => {
  await openPage();
  await chooseExample("file");
  await page.click("#run");
  const status = await runEnds();
  assert.match(status, /^nonzero_exit — Command exited with non-zero status \(1\) · /);
  assert.match(status, STATS);
  assert.equal(await page.getAttribute("#status", "class"), "bad");
  const err = page.locator("#output-area span.stderr");
  assert.ok((await err.count()) >= 1, "stderr spans");
  const errText = (await err.allTextContents()).join("");
  assert.match(errText, /PermissionError: \[Errno 13\] Permission denied: '\/etc\/passwd'/);
  assert.equal(errText, await outputText(), "all the output is stderr");
  assert.doesNotMatch(await outputText(), /root:/);
  // Styled distinctly from stdout.
  const [errColor, outColor] = await page.evaluate(() => {
    const span = document.querySelector("#output-area span.stderr");
    return [getComputedStyle(span).color, getComputedStyle(document.getElementById("output-area")).color];
  });
  assert.notEqual(errColor, outColor, "stderr has its own colour");
  await page.screenshot({ path: path.join(logDir, "file-denied.png"), fullPage: true });
  noPageErrors();
});

test("network example: the connection is denied", async () => {
  await openPage();
  await chooseExample("network");
  await page.click("#run");
  const status = await runEnds();
  assert.match(status, /^nonzero_exit — /);
  const out = await outputText();
  assert.match(out, /PermissionError: \[Errno 1\] Operation not permitted/);
  assert.doesNotMatch(out, /connected/);
  const errText = (await page.locator("#output-area span.stderr").allTextContents()).join("");
  assert.match(errText, /PermissionError/);
  await page.screenshot({ path: path.join(logDir, "network-denied.png"), fullPage: true });
  noPageErrors();
});

test("stdin example: the greeting uses the name given as input", async () => {
  await openPage();
  await chooseExample("stdin");
  assert.match(await page.inputValue("#stdin"), /^Ada\n/);
  await page.fill("#stdin", "Grace Hopper\nfirst extra\nsecond extra\n");
  await page.click("#run");
  const status = await runEnds();
  assert.match(status, /^ok — /);
  assert.equal(await outputText(),
               "name? hello, Grace Hopper!\nmore: first extra\nmore: second extra\n");
  noPageErrors();
});

test("output streams into the page while the program runs (slow-output example)", async () => {
  await openPage();
  await chooseExample("stream");
  await page.click("#run");
  // tick 0 comes at once, tick 4 after 2 s: the page must show the first
  // while the status still says running.
  await page.locator("#output-area", { hasText: "tick 0" }).waitFor({ timeout: 1500 });
  assert.match(await page.locator("#status").textContent(), /^running/);
  assert.doesNotMatch(await outputText(), /tick 4/);
  const status = await runEnds();
  assert.match(status, /^ok — /);
  assert.equal(await outputText(), "tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n");
  noPageErrors();
});

test("limits typed in the fields are sent; above the maximum, the server's reason shows", async () => {
  await openPage();
  await chooseExample("loop");
  await page.fill("#cpu_time", "0.5");
  await page.click("#run");
  const status = await runEnds();
  assert.match(status, /^cpu_limit — Time Limit Exceeded · /);
  await page.fill("#cpu_time", "11");
  await page.click("#run");
  const refused = await runEnds();
  assert.match(refused, /^HTTP 400: cpu_time 11 is above this location's maximum of 10 seconds$/);
  assert.equal(await outputText(), "");
  noPageErrors(/^console: Failed to load resource: .* 400 \(Bad Request\)$/);
});

test("EventSource on /run?format=sse&user_script=… collects stdout, stderr and exit events", async () => {
  await openPage();
  // Pauses between the writes, so the order of arrival is the order of writing.
  const program = 'import sys, time\nprint("es one", flush=True)\ntime.sleep(0.2)\n' +
                  'sys.stderr.write("es warn\\n"); sys.stderr.flush()\ntime.sleep(0.2)\nprint("é€😀")';
  const got = await page.evaluate(async (code) => {
    const url = new URL("run", document.baseURI);
    url.searchParams.set("format", "sse");
    url.searchParams.set("user_script", code);
    return await new Promise((resolve, reject) => {
      const es = new EventSource(url.toString());
      const seen = [];
      const timer = setTimeout(() => { es.close(); reject(new Error("no exit event in 10 s: " + JSON.stringify(seen))); }, 10000);
      for (const name of ["stdout", "stderr"]) {
        es.addEventListener(name, (e) => seen.push([name, JSON.parse(e.data)]));
      }
      es.addEventListener("exit", (e) => {
        // Close at once: an EventSource reconnects when the stream ends.
        es.close();
        clearTimeout(timer);
        resolve({ seen, exit: JSON.parse(e.data), readyState: es.readyState });
      });
      es.onerror = () => {
        if (es.readyState === EventSource.CLOSED) {
          clearTimeout(timer);
          reject(new Error("EventSource failed: " + JSON.stringify(seen)));
        }
      };
    });
  }, program);
  const join = (s) => got.seen.filter(([n]) => n === s).map(([, d]) => d).join("");
  assert.equal(join("stdout"), "es one\né€😀\n");
  assert.equal(join("stderr"), "es warn\n");
  assert.ok(got.seen.every(([, d]) => typeof d === "string"), "output data are strings");
  // stdout's first line came before stderr's (the order the program wrote).
  assert.deepEqual(got.seen.map(([n]) => n).filter((n, i, a) => i === 0 || a[i - 1] !== n),
                   ["stdout", "stderr", "stdout"]);
  const x = got.exit;
  assert.equal(x.status, "ok");
  assert.equal(x.exit_code, 0);
  assert.equal(x.stdout_bytes, Buffer.byteLength("es one\né€😀\n"));
  for (const k of ["wall_time", "cpu_time", "user_time", "system_time", "memory_kb"]) {
    assert.equal(typeof x[k], "number", k);
  }
  assert.match(x.run_id, /^[0-9a-f-]{36}$/);
  assert.equal(x.limits.cpu_time, info.cpu_time.default);
  noPageErrors();
});
