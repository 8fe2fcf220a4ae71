// page.test.mjs — the playground page itself, in headless Chromium against
// a throwaway httpd with the module: output rendering that stays fast
// (50 000 lines, measured in the page) and its display cap, the editor's
// line numbers and the error line marked and linked, the program kept in
// the URL fragment (share link) and in localStorage, copy and clear, dark
// mode, and the layout of a 1280×900 window. Screenshots of both colour
// schemes go to build/test-logs/browser/.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import * as H from "./harness.mjs";

const T = H.setup({ server: { name: "page", uidBlock: 1 }, permissions: ["clipboard-read", "clipboard-write"] });
let base = null, browser = null, page = null;
before(async () => { ({ base, browser } = await T.ready); });

const openPage = async (url) => (page = await T.open(url));
const noPageErrors = (allowed) => T.noPageErrors(allowed);
const runEnds = (timeout) => H.runEnds(page, timeout);
const outputText = () => page.locator("#output-area").textContent();

// Whether the first or last `needle` in the output pane's text (which may
// span text nodes) is drawn inside the pane's visible box.
function textInView(which, needle) {
  return page.evaluate(([which, needle]) => {
    const pre = document.getElementById("output-area");
    const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
    const nodes = [];
    let text = "";
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      nodes.push([n, text.length]);
      text += n.data;
    }
    const at = which === "first" ? text.indexOf(needle) : text.lastIndexOf(needle);
    if (at < 0) return "not found";
    // The text node and offset of a position in the whole text.
    const locate = (pos) => {
      let i = nodes.length - 1;
      while (nodes[i][1] > pos) i--;
      return [nodes[i][0], pos - nodes[i][1]];
    };
    const r = document.createRange();
    r.setStart(...locate(at));
    r.setEnd(...locate(at + needle.length - 1));
    r.setEnd(r.endContainer, r.endOffset + 1);
    const box = r.getBoundingClientRect(), view = pre.getBoundingClientRect();
    return box.height > 0 && box.top >= view.top - 1 && box.bottom <= view.bottom + 1
      ? "in view" : `at ${box.top}..${box.bottom}, pane ${view.top}..${view.bottom}`;
  }, [which, needle]);
}

test("50 000 lines render in under a second (first byte to the frame after the last update)", async (t) => {
  await openPage();
  await page.selectOption("#example", "lines");
  await page.click("#run");
  assert.match(await runEnds(30000), /^ok — OK · /);
  await page.waitForFunction(() => window.playground.timing.framed !== null);
  const tm = await page.evaluate(() => window.playground.timing);
  const shape = await page.evaluate(() => {
    const pre = document.getElementById("output-area");
    return {
      text: pre.textContent,
      spans: pre.querySelectorAll("span").length,
      blocks: pre.querySelectorAll(".blk").length,
      atBottom: pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 2,
    };
  });
  const ms = tm.framed - tm.firstByte;
  const line = `50000 lines (${shape.text.length} characters, ${tm.events} ndjson events, ${shape.blocks} blocks, ` +
               `${shape.spans} spans): first byte to rendered ${ms.toFixed(0)} ms ` +
               `(the body's last byte at ${(tm.lastByte - tm.firstByte).toFixed(0)} ms, ` +
               `the last DOM update at ${(tm.lastRender - tm.firstByte).toFixed(0)} ms)`;
  t.diagnostic(line);
  fs.writeFileSync(path.join(H.logDir, "render-50k.txt"), line + "\n");
  const want = Array.from({ length: 50000 }, (_, i) => `line ${i}\n`).join("");
  assert.equal(shape.text, want);
  assert.ok(shape.spans <= shape.blocks * 2 && shape.blocks < 200, `${shape.spans} spans, ${shape.blocks} blocks`);
  // Scrolled to the true bottom: the last line is drawn in the pane...
  assert.ok(shape.atBottom, "the pane is scrolled to the bottom");
  assert.equal(await textInView("last", "line 49999"), "in view");
  await H.screenshot(page, "lines-50k");
  assert.ok(ms < 1000, `first byte to rendered: ${ms.toFixed(0)} ms`);
  // Most of that is the server streaming; the page's own part after the
  // body's end is small.
  assert.ok(tm.framed - tm.lastByte < 200, `last byte to rendered: ${(tm.framed - tm.lastByte).toFixed(0)} ms`);
  // ...and the first one is there when scrolled back up.
  await page.evaluate(() => { document.getElementById("output-area").scrollTop = 0; });
  await page.waitForFunction(() => new Promise((r) => requestAnimationFrame(() => r(true))));
  assert.equal(await textInView("first", "line 0"), "in view");
  noPageErrors();
});

test("past the display cap the oldest output leaves the page (said so), Copy still has all of it", async () => {
  await openPage();
  // 1000-byte lines up to the largest output limit, 4 MiB.
  await page.fill("#code", 'import sys\nfor i in range(5000):\n    sys.stdout.write("%04d " % i + "x" * 994 + "\\n")');
  await page.fill("#output", "4M");
  await page.click("#run");
  assert.match(await runEnds(30000), /^output_limit — /);
  assert.equal(await page.locator("#output-meter").textContent(), "4.0 MB of the 4.0 MB output limit");
  const note = page.locator("#trim-note");
  assert.ok(await note.isVisible(), "the cap note is shown");
  assert.match(await note.textContent(), /^The first [0-9.]+ MB of output are no longer shown here \(display cap\); Copy still copies everything\.$/);
  const shown = (await outputText()).length;
  assert.ok(shown <= 2 * 1048576 && shown > 2 * 1048576 - 16384, `${shown} characters kept in the page`);
  assert.ok((await outputText()).endsWith("x".repeat(100)), "the newest output is kept");
  await page.click("#copy-output");
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied.length, 4194304);
  assert.ok(copied.startsWith("0000 xxx"));
  noPageErrors();
});

test("the editor numbers its lines; a traceback's line is marked and linked, the link moves the caret", async () => {
  await openPage();
  const code = 'x = 1\ny = 0\nprint(x / y)\nprint("never")';
  await page.fill("#code", code);
  assert.equal(await page.locator("#editor .gutter").textContent(), "1\n2\n3\n4\n");
  await page.click("#run");
  assert.match(await runEnds(), /^nonzero_exit — /);
  assert.equal(await page.locator("#explain").textContent(), "ZeroDivisionError: division by zero — at line 3");
  // Marked: the mark sits on line 3 of the textarea.
  const mark = page.locator("#editor .line-mark");
  assert.ok(await mark.isVisible());
  assert.equal(await mark.getAttribute("data-line"), "3");
  const geo = await page.evaluate(() => {
    const ta = document.getElementById("code"), m = document.querySelector("#editor .line-mark");
    const cs = getComputedStyle(ta);
    return { markTop: m.getBoundingClientRect().top, taTop: ta.getBoundingClientRect().top,
             pad: parseFloat(cs.paddingTop), lh: parseFloat(cs.lineHeight) };
  });
  assert.ok(Math.abs(geo.markTop - (geo.taTop + geo.pad + 2 * geo.lh)) < 1.5, JSON.stringify(geo));
  // Linked in the output; the caret is elsewhere until the link is clicked.
  const link = page.locator('#output-area a.tb-link[data-line="3"]');
  assert.equal(await link.textContent(), 'File "main.py", line 3');
  await page.evaluate(() => { const c = document.getElementById("code"); c.setSelectionRange(0, 0); c.blur(); });
  await link.click();
  const caret = await page.evaluate(() => [document.activeElement.id, document.getElementById("code").selectionStart]);
  assert.deepEqual(caret, ["code", "x = 1\ny = 0\n".length]);
  // An edit takes the mark away.
  await page.keyboard.type("z = 2\n");
  assert.ok(await mark.isHidden(), "the mark is gone after an edit");
  await H.screenshot(page, "error-line");
  noPageErrors();
});

test("a SyntaxError's line is marked; a far line is scrolled into view by its link", async () => {
  await openPage();
  await page.fill("#code", 'print(1)\nprint(2\n');
  await page.click("#run");
  assert.match(await runEnds(), /^nonzero_exit — /);
  assert.equal(await page.locator("#editor .line-mark").getAttribute("data-line"), "2");
  assert.match(await page.locator("#explain").textContent(), /^SyntaxError: '\(' was never closed — at line 2$/);
  const lines = Array.from({ length: 80 }, (_, i) => `v${i} = ${i}`);
  lines[69] = "v69 = undefined_name";
  await page.fill("#code", lines.join("\n"));
  await page.click("#run");
  assert.match(await runEnds(), /^nonzero_exit — /);
  await page.locator('#explain a.tb-link[data-line="70"]').click();
  const view = await page.evaluate(() => {
    const m = document.querySelector("#editor .line-mark").getBoundingClientRect();
    const e = document.getElementById("code").getBoundingClientRect();
    return { top: m.top, bottom: m.bottom, eTop: e.top, eBottom: e.bottom };
  });
  assert.ok(view.top >= view.eTop && view.bottom <= view.eBottom, `mark in the editor's view: ${JSON.stringify(view)}`);
  // The gutter scrolled with the text: its line 70 is level with the mark.
  const gutterTop = await page.evaluate(() => {
    const g = document.querySelector("#editor .gutter");
    const r = document.createRange();
    const t = g.firstChild, at = t.data.indexOf("\n70\n") + 1;
    r.setStart(t, at);
    r.setEnd(t, at + 2);
    return r.getBoundingClientRect().top;
  });
  assert.ok(Math.abs(gutterTop - view.top) < 4, `gutter line 70 at ${gutterTop}, mark at ${view.top}`);
  noPageErrors();
});

test("share link: the program, stdin and arguments round-trip through the URL fragment", async () => {
  await openPage();
  const code = 'print("ünïcode ✓ & #hash %20", 1 + 1)  # a comment\nprint(input())\n' + "x = 1\n".repeat(200);
  await page.fill("#code", code);
  await page.fill("#stdin", "from stdin\n");
  await page.fill("#args", '--flag "two words"');
  await page.click("#share");
  await page.waitForFunction(() => location.hash.startsWith("#z="));
  assert.equal(await page.locator("#share-note").textContent(), "link copied");
  const link = page.url();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
  assert.ok(link.length < 600, `a compressed link: ${link.length} characters`);
  // In a fresh browser context (no localStorage): the same program.
  const ctx = await H.newContext(browser);
  try {
    const { page: p2, errors } = await H.openPage(ctx, link);
    assert.equal(await p2.inputValue("#code"), code);
    assert.equal(await p2.inputValue("#stdin"), "from stdin\n");
    assert.equal(await p2.inputValue("#args"), '--flag "two words"');
    // An edit makes the page its own again: the fragment goes, and a reload
    // shows the edit (from localStorage), not the shared program.
    await p2.locator("#code").press("End");
    await p2.keyboard.type("# edited");
    await p2.waitForFunction(() => location.hash === "");
    await p2.waitForFunction(() => (localStorage.getItem("pysandbox-playground") || "").includes("# edited"));
    await p2.reload();
    await p2.locator("html[data-ready]").waitFor({ state: "attached" });
    assert.match(await p2.inputValue("#code"), /# edited/);
    H.noPageErrors(errors);
  } finally {
    await ctx.close();
  }
  // A link written by hand: #code= and the percent-encoded program.
  await page.goto(`${base}/#code=${encodeURIComponent('print("by hand")')}`);
  await page.waitForFunction(() => document.getElementById("code").value === 'print("by hand")');
  noPageErrors();
});

test("localStorage: the program comes back on the next visit; a shared link wins over it, and does not replace it", async () => {
  const ctx = await H.newContext(browser);
  try {
    const first = await H.openPage(ctx, `${base}/`);
    await first.page.fill("#code", 'print("kept for later")');
    await first.page.fill("#stdin", "kept stdin");
    await first.page.waitForFunction(() => (localStorage.getItem("pysandbox-playground") || "").includes("kept stdin"));
    await first.page.close();
    const again = await H.openPage(ctx, `${base}/`);
    assert.equal(await again.page.inputValue("#code"), 'print("kept for later")');
    assert.equal(await again.page.inputValue("#stdin"), "kept stdin");
    await again.page.close();
    const linked = await H.openPage(ctx, `${base}/#code=${encodeURIComponent("print('from the link')")}`);
    assert.equal(await linked.page.inputValue("#code"), "print('from the link')");
    assert.equal(await linked.page.inputValue("#stdin"), "");
    // Only an edit is saved: having opened a link, one's own program stays.
    await linked.page.close();
    const own = await H.openPage(ctx, `${base}/`);
    assert.equal(await own.page.inputValue("#code"), 'print("kept for later")');
    H.noPageErrors([...first.errors, ...again.errors, ...linked.errors, ...own.errors]);
  } finally {
    await ctx.close();
  }
});

test("Copy puts the whole output on the clipboard; Clear empties the pane", async () => {
  await openPage();
  // Pauses between the writes, so the order of arrival is the order of writing.
  await page.fill("#code", 'import sys, time\nprint("out one")\ntime.sleep(0.1)\nsys.stderr.write("err two\\n")\n' +
                           'time.sleep(0.1)\nprint("out three")\ntime.sleep(0.1)\n1/0');
  await page.click("#run");
  assert.match(await runEnds(), /^nonzero_exit — /);
  const shown = await outputText();
  assert.match(shown, /^out one\nerr two\nout three\nTraceback/);
  await page.click("#copy-output");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shown);
  assert.equal(await page.locator("#copy-output").textContent(), "Copied");
  await page.click("#clear-output");
  assert.equal(await outputText(), "");
  assert.equal(await page.locator("#status").textContent(), "");
  assert.equal(await page.locator("#explain").textContent(), "");
  assert.ok(await page.locator("#editor .line-mark").isHidden(), "Clear takes the mark away");
  assert.equal(await page.locator("#output-meter").textContent(), "output limit 1.0 MB");
  noPageErrors();
});

// Relative luminance of a computed CSS colour "rgb(r, g, b)".
function luminance(rgb) {
  const [r, g, b] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

async function colours(p) {
  return p.evaluate(() => {
    const cs = (sel) => getComputedStyle(document.querySelector(sel));
    return {
      bg: cs("body").backgroundColor, fg: cs("body").color,
      outBg: cs("#output-area").backgroundColor, outFg: cs("#output-area").color,
      codeBg: cs("#editor").backgroundColor, err: cs("#output-area span.stderr").color,
    };
  });
}

test("dark mode follows prefers-color-scheme; both schemes at 1280×900", async () => {
  const program = 'def mean(values):\n    return sum(values) / len(values)\n\nprint(mean([1, 2, 3]))\nprint(mean([]))';
  const got = {};
  for (const scheme of ["light", "dark"]) {
    const ctx = await H.newContext(browser, { colorScheme: scheme });
    try {
      const { page: p, errors } = await H.openPage(ctx, `${base}/`);
      await p.fill("#code", program);
      await p.click("#run");
      await H.runEnds(p);
      got[scheme] = await colours(p);
      await H.screenshot(p, `playground-${scheme}`);
      H.noPageErrors(errors);
    } finally {
      await ctx.close();
    }
  }
  const L = (s, k) => luminance(got[s][k]);
  assert.ok(L("light", "bg") > 0.85 && L("light", "fg") < 0.1, JSON.stringify(got.light));
  assert.ok(L("dark", "bg") < 0.03 && L("dark", "fg") > 0.6, JSON.stringify(got.dark));
  for (const k of ["outBg", "codeBg"]) assert.ok(L("dark", k) < 0.03, `dark ${k} ${got.dark[k]}`);
  assert.ok(L("dark", "outFg") > 0.6, `dark output text ${got.dark.outFg}`);
  assert.notEqual(got.dark.err, got.dark.outFg, "stderr has its own colour in the dark too");
});

test("at 1280×900 the editor, Run and the output pane are in view without scrolling", async () => {
  await openPage();
  await page.selectOption("#example", "stream");
  await page.click("#run");
  await runEnds();
  const boxes = await page.evaluate(() => {
    const b = (sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    return { scrollY, innerWidth, innerHeight, docWidth: document.documentElement.scrollWidth,
             out: b("#output-area"), status: b("#status"), run: b("#run"), code: b("#code"), limits: b("#limits") };
  });
  assert.equal(boxes.scrollY, 0);
  assert.equal(boxes.docWidth, 1280, "no horizontal scrolling");
  for (const k of ["out", "status", "run", "code", "limits"]) {
    const [l, t, r, b] = boxes[k];
    assert.ok(l >= 0 && t >= 0 && r <= boxes.innerWidth && b <= boxes.innerHeight, `${k} ${boxes[k]} within 1280×900`);
  }
  const [ol, ot, or, ob] = boxes.out;
  assert.ok(or - ol >= 500 && ob - ot >= 500, `output pane ${or - ol}×${ob - ot}`);
  await H.screenshot(page, "layout-1280x900");
  noPageErrors();
});
