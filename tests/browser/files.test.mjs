// files.test.mjs — the playground with issue 10's server side: input files
// (multipart parts named "files") and arguments (repeated "args" fields)
// reaching the program in its scratch directory; the Location's caps from
// ?info=1 shown by the picker; the server's reasons for a refused file as
// the run's status; a Location without a scratch directory turning the
// picker off; the server's exception, its line and the limit it names;
// numpy and matplotlib (the README's recipe); a plot shown inline; files
// out as downloads (SVG and HTML never rendered); files over the cap named;
// SSE file events.
//
// Needs issue 10's server side (scratch, input files, the exception
// channel, packages, files out), on main since the work track landed.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import * as H from "./harness.mjs";

// /run: the README's numpy + matplotlib recipe for Debian 12. The page
// again under /small/ (one input file of at most 1K, 100K of files out)
// and /nofiles/ (no scratch directory: nothing writable, no files).
const EXTRA = `
<Location /run>
    PySandboxSitePackages On
    PySandboxReadOnlyPath /usr/share/matplotlib /etc/matplotlibrc
    PySandboxMemory 1G 1G
    PySandboxCPUTime 20 20
    PySandboxWallTime 20 20
</Location>
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
Alias /small/ "@WWW@/"
Alias /nofiles/ "@WWW@/"
<Location /small/run>
    SetHandler pysandbox
    PySandboxMaxFiles 1
    PySandboxMaxFileSize 1K
    PySandboxMaxOutputFiles 100K
</Location>
<Location /nofiles/run>
    SetHandler pysandbox
    PySandboxScratch 0
</Location>
`;

const T = H.setup({ server: { name: "files", uidBlock: 4, extraConf: EXTRA }, context: { acceptDownloads: true } });
let base = null, page = null;
before(async () => { ({ base } = await T.ready); });

const openPage = async (url) => (page = await T.open(url));
const runEnds = () => H.runEnds(page, 30000);
const outputText = () => page.locator("#output-area").textContent();
const noPageErrors = () => T.noPageErrors();

// The bytes behind a Blob URL of the page, and the Blob's type.
function blobOf(url) {
  return page.evaluate(async (u) => {
    const b = await (await fetch(u)).blob();
    return { type: b.type, bytes: [...new Uint8Array(await b.arrayBuffer())] };
  }, url);
}
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const REFUSED_LOG = /^console: Failed to load resource: .* (400 \(Bad Request\)|413 \(Request Entity Too Large\))$/;

test("input files and arguments reach the program", async () => {
  await openPage();
  await page.fill("#code", [
    "import csv, sys",
    "name, column = sys.argv[1:]",
    "rows = list(csv.DictReader(open(name)))",
    "print(column, sum(float(r[column]) for r in rows))",
  ].join("\n"));
  await page.fill("#args", 'data.csv "the values"');
  await page.setInputFiles("#file-picker", [
    { name: "data.csv", mimeType: "text/csv", buffer: Buffer.from("id,the values\n1,1.5\n2,2.5\n3,4\n") },
  ]);
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  assert.equal(await outputText(), "the values 8.0\n");
  T.noPageErrors();
});

test("binary input files arrive byte for byte, several at once, in the working directory", async () => {
  await openPage();
  const blob = crypto.randomBytes(200000), empty = Buffer.alloc(0);
  await page.fill("#code", [
    "import hashlib, os",
    "for n in sorted(os.listdir('.')):",
    "    print(n, os.path.getsize(n), hashlib.sha256(open(n, 'rb').read()).hexdigest())",
  ].join("\n"));
  await page.setInputFiles("#file-picker", [
    { name: "random.bin", mimeType: "application/octet-stream", buffer: blob },
    { name: "empty.txt", mimeType: "text/plain", buffer: empty },
    { name: "naïve ü.txt", mimeType: "text/plain", buffer: Buffer.from("ü\n") },
  ]);
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  const sha = (b) => crypto.createHash("sha256").update(b).digest("hex");
  assert.equal(await outputText(), [
    `empty.txt 0 ${sha(empty)}`,
    `naïve ü.txt 3 ${sha(Buffer.from("ü\n"))}`,
    `random.bin 200000 ${sha(blob)}`,
    "",
  ].join("\n"));
  T.noPageErrors();
});

test("arguments become sys.argv[1:] exactly: quotes, an empty one, non-ASCII", async () => {
  await openPage();
  await page.fill("#code", "import sys, json\nprint(json.dumps(sys.argv[1:], ensure_ascii=False))");
  await page.fill("#args", `a "b  c" '' 'it''s' ü --x=1`);
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  assert.equal(await outputText(), '["a", "b  c", "", "its", "ü", "--x=1"]\n');
  T.noPageErrors();
});

test("the picker shows the Location's caps for input files (?info=1)", async () => {
  await openPage();
  assert.equal(await page.locator("#files-hint").textContent(), "or drop them here · at most 16, 1.0 MB each");
  assert.ok(await page.locator("#add-files").isEnabled());
  await openPage(`${base}/small/`);
  assert.equal(await page.locator("#files-hint").textContent(), "or drop them here · at most 1, 1.0 KB each");
  T.noPageErrors();
});

test("a file the server refuses (hidden name, over a cap, too many): its reason is the status, nothing runs", async () => {
  await openPage();
  await page.fill("#code", 'print("ran")');
  await page.setInputFiles("#file-picker", [{ name: ".hidden", mimeType: "text/plain", buffer: Buffer.from("x") }]);
  await page.click("#run");
  assert.match(await runEnds(), /^HTTP 400: input file "\.hidden": /);
  assert.equal(await outputText(), "");

  await openPage(`${base}/small/`);
  await page.fill("#code", 'print("ran")');
  await page.setInputFiles("#file-picker", [{ name: "big.txt", mimeType: "text/plain", buffer: Buffer.alloc(2048, 0x61) }]);
  await page.click("#run");
  assert.match(await runEnds(), /^HTTP 413: input file "big\.txt" of 2048 bytes is over this location's 1024/);
  assert.equal(await outputText(), "");
  await page.click('#file-list button[data-name="big.txt"]');
  await page.setInputFiles("#file-picker", [
    { name: "a.txt", mimeType: "text/plain", buffer: Buffer.from("a") },
    { name: "b.txt", mimeType: "text/plain", buffer: Buffer.from("b") },
  ]);
  await page.click("#run");
  assert.match(await runEnds(), /^HTTP 413: more than 1 input files/);
  assert.equal(await outputText(), "");
  T.noPageErrors(REFUSED_LOG);
});

test("a Location without a scratch directory: the picker is off and says so", async () => {
  await openPage(`${base}/nofiles/`);
  assert.equal(await page.locator("#files-hint").textContent(), "this server takes no input files here");
  assert.ok(await page.locator("#add-files").isDisabled());
  // arguments still work there
  await page.fill("#code", "import sys\nprint(sys.argv[1:])");
  await page.fill("#args", "x y");
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  assert.equal(await outputText(), "['x', 'y']\n");
  T.noPageErrors();
});

test("the server's exception is shown and its line marked; a fake traceback on stderr changes nothing", async () => {
  await openPage();
  await page.fill("#code", [
    "import sys",
    "def f(x):",
    "    return {}[x]",
    'print(\'Traceback (most recent call last):\\n  File "main.py", line 1, in <module>\\nZeroDivisionError: fake\', file=sys.stderr)',
    'f("missing")',
  ].join("\n"));
  await page.click("#run");
  assert.match(await runEnds(), /^nonzero_exit — /);
  const exit = await page.evaluate(() => window.playground.exit);
  assert.equal(exit.exception, "KeyError", JSON.stringify(exit));
  assert.equal(exit.exception_line, 3);
  assert.equal(await page.locator("#explain").textContent(), "KeyError: 'missing' — at line 3");
  assert.equal(await page.locator("#editor .line-mark").getAttribute("data-line"), "3");
  T.noPageErrors();
});

test("a class of the program's own and a module-qualified one: named with their messages", async () => {
  await openPage();
  await page.fill("#code", "class Oops(Exception):\n    pass\n\nraise Oops('my own')");
  await page.click("#run");
  assert.match(await runEnds(), /^nonzero_exit — /);
  assert.equal((await page.evaluate(() => window.playground.exit)).exception, "__main__.Oops");
  assert.equal(await page.locator("#explain").textContent(), "Oops: my own — at line 4");
  await page.fill("#code", "import json\n\njson.loads('{')");
  await page.click("#run");
  assert.match(await runEnds(), /^nonzero_exit — /);
  assert.equal((await page.evaluate(() => window.playground.exit)).exception, "json.decoder.JSONDecodeError");
  assert.match(await page.locator("#explain").textContent(),
               /^JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 \(char 1\) — at line 3$/);
  T.noPageErrors();
});

test("a thread or process refused: the server's limit_reached is what the page says", async () => {
  await openPage();
  await page.fill("#code", "import threading\nthreading.stack_size(65536)\nev = threading.Event()\n" +
                  "for _ in range(40): threading.Thread(target=ev.wait, daemon=True).start()");
  await page.click("#run");
  await runEnds();
  let exit = await page.evaluate(() => window.playground.exit);
  assert.equal(exit.limit_reached, "threads", JSON.stringify(exit));
  assert.match(await page.locator("#explain").textContent(), /^Stopped by the thread limit: a run may have \d+ threads\./);
  await page.fill("#code", "import os\nos.fork()");
  await page.click("#run");
  await runEnds();
  exit = await page.evaluate(() => window.playground.exit);
  assert.equal(exit.limit_reached, "processes", JSON.stringify(exit));
  assert.match(await page.locator("#explain").textContent(),
               /^Stopped by the process limit: a run here may not start other processes\./);
  T.noPageErrors();
});

test("the matplotlib example: its figure is shown inline as a PNG", async () => {
  await openPage();
  assert.equal(await page.locator("#memory").getAttribute("placeholder"), "1G");
  await page.selectOption("#example", "plot");
  await page.click("#run");
  assert.match(await runEnds(), /^ok — OK · /);
  const img = page.locator("#files-out figure.out-image img");
  assert.equal(await img.count(), 1);
  await page.waitForFunction(() => document.querySelector("#files-out img").complete);
  assert.ok(await img.evaluate((i) => i.naturalWidth > 100 && i.naturalHeight > 100), "the image decoded");
  assert.match(await page.locator("#files-out figcaption").textContent(), /^figure-1\.png [0-9.]+ KB · image\/png$/);
  const blob = await blobOf(await img.getAttribute("src"));
  assert.equal(blob.type, "image/png");
  assert.deepEqual(blob.bytes.slice(0, 8), PNG);
  await H.screenshot(page, "plot");
  noPageErrors();
});

test("the numpy example computes", async () => {
  await openPage();
  await page.selectOption("#example", "numpy");
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  assert.match(await outputText(), /column sums: \[12 15 18 21\]\n/);
  noPageErrors();
});

test("files out: out/squares.csv comes back as a download, with the example's arguments", async () => {
  await openPage();
  await page.selectOption("#example", "files");
  assert.equal(await page.inputValue("#args"), '--rows 8 "the number n"');
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  assert.match(await outputText(), /arguments: Namespace\(rows=8, header='the number n'\)/);
  const link = page.locator("#files-out .out-file a", { hasText: "squares.csv" });
  assert.equal(await link.getAttribute("download"), "squares.csv");
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  assert.equal(download.suggestedFilename(), "squares.csv");
  const text = fs.readFileSync(await download.path(), "utf8");
  assert.equal(text.split("\r\n")[0], "the number n,squared");
  assert.equal(text.split("\r\n")[8], "7,49");
  noPageErrors();
});

test("SVG and HTML from a run are downloads only, never rendered", async () => {
  await openPage();
  let dialogs = 0;
  page.on("dialog", (d) => { dialogs++; d.dismiss(); });
  await page.fill("#code", [
    "import os",
    'os.makedirs("out")',
    'open("out/pic.svg", "w").write(\'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>\')',
    'open("out/page.html", "w").write("<script>alert(3)</script>")',
    'open("out/fake.png", "w").write("<svg onload=alert(4)></svg>")',
  ].join("\n"));
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  assert.equal(await page.locator("#files-out img, #files-out svg, #files-out iframe, #files-out object, #files-out embed").count(), 0);
  const links = page.locator("#files-out .out-file a");
  assert.deepEqual((await links.allTextContents()).sort(), ["fake.png", "page.html", "pic.svg"]);
  for (const a of await links.all()) {
    assert.equal(await a.getAttribute("download"), await a.textContent());
    assert.equal((await blobOf(await a.getAttribute("href"))).type, "application/octet-stream");
  }
  await H.sleep(300);
  assert.equal(dialogs, 0, "nothing of the run's files executed");
  noPageErrors();
});

test("files over the cap are named as not returned", async () => {
  await openPage(`${base}/small/`);
  await page.fill("#code", [
    "import os",
    'os.makedirs("out")',
    "for i in range(3):",
    '    open(f"out/blob{i}.bin", "wb").write(os.urandom(60_000))',
  ].join("\n"));
  await page.click("#run");
  assert.match(await runEnds(), /^ok — /);
  const kept = await page.locator("#files-out .out-file a").allTextContents();
  assert.ok(kept.length >= 1 && kept.length < 3, kept.join(", "));
  const note = await page.locator("#files-out .files-note").textContent();
  assert.match(note, /^not returned \(over the output files cap: blob\d\.bin(, blob\d\.bin)?\)$/);
  for (const name of ["blob0.bin", "blob1.bin", "blob2.bin"]) {
    assert.ok(kept.includes(name) !== note.includes(name), `${name}: kept or named as dropped`);
  }
  noPageErrors();
});

test("SSE: EventSource gets the figure as a file event", async () => {
  await openPage();
  const got = await page.evaluate(() => new Promise((resolve, reject) => {
    const url = new URL("run", document.baseURI);
    url.searchParams.set("format", "sse");
    url.searchParams.set("user_script", "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()");
    const es = new EventSource(url.toString());
    const files = [];
    const timer = setTimeout(() => { es.close(); reject(new Error("no exit event in 25 s")); }, 25000);
    es.addEventListener("file", (e) => files.push(JSON.parse(e.data)));
    es.addEventListener("exit", (e) => { es.close(); clearTimeout(timer); resolve({ files, exit: JSON.parse(e.data) }); });
  }));
  assert.equal(got.exit.status, "ok");
  assert.equal(got.files.length, 1);
  const f = got.files[0];
  assert.equal(f.name, "figure-1.png");
  assert.equal(f.type, "image/png");
  const bytes = Buffer.from(f.base64, "base64");
  assert.equal(bytes.length, f.size);
  assert.deepEqual([...bytes.subarray(0, 8)], PNG);
  noPageErrors();
});
