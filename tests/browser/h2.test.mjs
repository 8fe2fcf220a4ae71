// h2.test.mjs — the playground once over HTTPS with HTTP/2 (issue 12): a
// throwaway httpd with a TLS port (harness startServer({tls}):
// scripts/httpd.sh HTTPD_TLS_PORT, a certificate made by openssl) and
// headless Chromium that accepts the self-signed certificate. The page and
// its fetches go over h2; hello world runs; output streams into the page
// while the program runs; Stop (the fetch aborted: an RST_STREAM) leaves no
// run process.
//
// Its own server and uid block (3), so it can run beside the other files.
// A screenshot and the server's logs (h2.*.log) go to build/test-logs/browser/.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

const T = H.setup({ server: { name: "h2", uidBlock: 3, tls: true } });
let page = null;
before(async () => { await T.ready; });

const openPage = async () => (page = await T.open());
const runEnds = (timeout) => H.runEnds(page, timeout);
const outputText = () => page.locator("#output-area").textContent();

// The protocol of the page and of its last request to /run.
const protocols = () => page.evaluate(() => ({
  page: performance.getEntriesByType("navigation")[0].nextHopProtocol,
  run: performance.getEntriesByType("resource").filter((e) => /\/run(\?|$)/.test(e.name))
    .map((e) => e.nextHopProtocol).pop(),
}));

test("h2: the page and its runs go over HTTP/2; hello world shows its output and ok", async () => {
  await openPage();
  assert.match(T.base, /^https:/);
  await page.selectOption("#example", "hello");
  await page.click("#run");
  const status = await runEnds();
  assert.equal(await outputText(), "hello world\n");
  assert.match(status, /^ok — OK · /);
  assert.deepEqual(await protocols(), { page: "h2", run: "h2" });
  await H.screenshot(page, "hello-world-h2");
  T.noPageErrors();
});

test("h2: output streams into the page while the program runs", async () => {
  await openPage();
  await page.selectOption("#example", "stream");
  const t0 = Date.now();
  await page.click("#run");
  await page.locator("#output-area", { hasText: "tick 0" }).waitFor({ timeout: 1500 });
  const first = Date.now() - t0;
  assert.match(await page.locator("#status").textContent(), /^running/);
  assert.doesNotMatch(await outputText(), /tick 4/);
  const status = await runEnds();
  assert.match(status, /^ok — /);
  assert.equal(await outputText(), "tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n");
  assert.equal((await protocols()).run, "h2");
  console.log(`# h2: the first tick on the page ${first} ms after Run`);
  T.noPageErrors();
});

test("h2: Stop ends the infinite loop (a stream reset); no run process remains within 2 s", async () => {
  const uids = T.server.uids;
  await openPage();
  await page.selectOption("#example", "loop");
  await page.click("#run");
  const t0 = Date.now();
  while (!H.runProcesses(uids) && Date.now() - t0 < 3000) await H.sleep(20);
  assert.ok(H.runProcesses(uids), "no run process while the loop runs");
  await H.sleep(300);
  await page.click("#stop");
  const tStop = Date.now();
  assert.match(await runEnds(5000), /stopped/);
  let left = H.runProcesses(uids);
  while (left && Date.now() - tStop < 2000) {
    await H.sleep(5);
    left = H.runProcesses(uids);
  }
  assert.equal(left, "", `run processes still there ${Date.now() - tStop} ms after Stop: ${left}`);
  console.log(`# h2: run processes gone ${Date.now() - tStop} ms after Stop`);
  // and the connection goes on: the next run works
  await page.selectOption("#example", "hello");
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  assert.equal((await protocols()).run, "h2");
});
