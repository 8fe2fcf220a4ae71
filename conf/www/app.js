// app.js — the playground page: wires the editor, the example menu, the
// inputs (stdin, arguments, files), the limits from ?info=1 and the output
// pane to runs over HTTP. A run posts with format=ndjson and reads the
// streamed body, so output appears as it is printed; Stop aborts the
// request and the server kills the run. A busy server (503/429) is retried
// after its Retry-After, counting down, until Stop.
// window.playground.timing holds the last run's timestamps (performance.now):
// firstByte, lastByte, lastRender (after the last DOM update), framed (the
// animation frame after it), events; window.playground.exit its exit object.
import { EXAMPLE_GROUPS, EXAMPLES } from "./examples.js";
import { Editor } from "./editor.js";
import { OutputView } from "./output.js";
import { InputFiles, OutputFiles, formatSize } from "./files.js";
import { parseArgs, requestBody, retryAfter, countdown, readNdjson, refusalText } from "./request.js";
import { explain } from "./verdict.js";
import * as saved from "./state.js";

const MAX_RETRIES = 60;
const $ = (id) => document.getElementById(id);
const endpoint = new URL("run", document.baseURI).toString();
const stdin = $("stdin"), argsInput = $("args"), status = $("status"), explainEl = $("explain");
const runBtn = $("run"), stopBtn = $("stop");
const playground = (window.playground = { timing: null, exit: null, info: null });

for (const id of ["stop", "example", "share", "extras", "copy-output", "clear-output"]) $(id).hidden = false;
for (const el of document.querySelectorAll(".origin")) el.textContent = new URL(".", document.baseURI).toString();

const editor = new Editor($("editor"));
const view = new OutputView($("output-area"), {
  onTrim: (n) => {
    const note = $("trim-note");
    note.hidden = !n;
    note.textContent = n ? `The first ${formatSize(n)} of output are no longer shown here (display cap); Copy still copies everything.` : "";
  },
  onFlush: () => { if (playground.timing) playground.timing.lastRender = performance.now(); },
});
const outFiles = new OutputFiles($("files-out"));
const inFiles = new InputFiles($("file-list"), $("file-picker"), $("files-in"));
$("add-files").addEventListener("click", () => $("file-picker").click());

function setStatus(text, cls = "") {
  status.textContent = text;
  status.className = cls;
}

// --- the program: examples, arguments, saved and shared state ---------------

const exampleMenu = $("example");
for (const [label, list] of EXAMPLE_GROUPS) {
  const group = Object.assign(document.createElement("optgroup"), { label });
  for (const [key, text] of list) group.append(new Option(text, key));
  exampleMenu.append(group);
}
exampleMenu.addEventListener("change", () => {
  const ex = EXAMPLES.get(exampleMenu.value);
  if (!ex) return;
  apply({ code: ex[2], stdin: ex[3], args: ex[4] || "" });
  edited();
  editor.ta.focus();
});

function current() { return { code: editor.value, stdin: stdin.value, args: argsInput.value }; }

function apply(s) {
  editor.value = s.code;
  stdin.value = s.stdin;
  argsInput.value = s.args;
  showArgs();
}

function showArgs() {
  const { args, error } = parseArgs(argsInput.value);
  const p = $("args-preview");
  p.textContent = error || (args.length ? "sys.argv[1:] = " + JSON.stringify(args) : "");
  p.classList.toggle("bad", !!error);
}

// After an edit: a shared link no longer describes the page (the edit is
// kept in localStorage instead, so a reload shows it), and the save is due.
// Only edits are saved: opening someone's link does not replace one's own
// program in localStorage.
let saveTimer = 0, dirty = false;
function save() {
  clearTimeout(saveTimer);
  if (dirty) saved.save(current());
  dirty = false;
}
function edited() {
  if (saved.isShareFragment(location.hash)) history.replaceState(null, "", location.pathname + location.search);
  dirty = true;
  clearTimeout(saveTimer);
  saveTimer = setTimeout(save, 250);
}
editor.ta.addEventListener("input", edited);
stdin.addEventListener("input", edited);
argsInput.addEventListener("input", () => { showArgs(); edited(); });
addEventListener("pagehide", save);
addEventListener("hashchange", async () => {
  const s = await saved.fromFragment(location.hash);
  if (s) apply(s);
});

const restored = (async () => {
  const s = (await saved.fromFragment(location.hash)) || saved.load();
  if (s) apply(s);
  showArgs();
})();

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // No clipboard API (a page not served over https, say): the old way.
    const t = Object.assign(document.createElement("textarea"), { value: text });
    t.style.position = "fixed";
    t.style.opacity = "0";
    document.body.append(t);
    t.select();
    const ok = document.execCommand("copy");
    t.remove();
    return ok;
  }
}

function flash(el, text, ms = 2000) {
  el.textContent = text;
  clearTimeout(el.flashTimer);
  el.flashTimer = setTimeout(() => { el.textContent = ""; }, ms);
}

$("share").addEventListener("click", async () => {
  save();
  history.replaceState(null, "", location.pathname + location.search + (await saved.toFragment(current())));
  const ok = await copyText(location.href);
  flash($("share-note"), ok ? "link copied" : "the link is in the address bar");
});

// --- limits of this Location (?info=1) ---------------------------------------

const sizeText = (n) => (n % 1073741824 === 0 ? n / 1073741824 + "G" : n % 1048576 === 0 ? n / 1048576 + "M" :
                         n % 1024 === 0 ? n / 1024 + "K" : String(n));

function showMeter(used = null, limit = null) {
  const lim = limit ?? (playground.info ? playground.info.output.default : null);
  $("output-meter").textContent = lim === null ? "" :
    used === null ? `output limit ${formatSize(lim)}` : `${formatSize(used)} of the ${formatSize(lim)} output limit`;
}

// Input files: the caps ?info=1 reports (a server without them says nothing
// here); none at all where the Location takes no files (no scratch
// directory, or PySandboxMaxFiles 0), so the picker is off.
function showFileCaps(info) {
  if (info.max_files === undefined) return;
  const none = info.max_files === 0 || info.scratch === 0;
  $("add-files").disabled = $("file-picker").disabled = none;
  $("files-hint").textContent = none ? "this server takes no input files here"
    : `or drop them here · at most ${info.max_files}, ${formatSize(info.max_file_size)} each`;
}

const infoLoaded = fetch(endpoint + "?info=1", { headers: { Accept: "application/json" } })
  .then((r) => (r.ok ? r.json() : null))
  .then((info) => {
    if (!info) return;
    playground.info = info;
    const show = (id, d, m, fmt) => {
      const el = $(id);
      el.placeholder = fmt(d);
      el.title = "default " + fmt(d) + ", at most " + fmt(m);
      el.parentElement.append(Object.assign(document.createElement("small"),
        { textContent: " max " + fmt(m), className: "hint" }));
    };
    show("cpu_time", info.cpu_time.default, info.cpu_time.max, String);
    show("wall_time", info.wall_time.default, info.wall_time.max, String);
    show("memory", info.memory.default, info.memory.max, sizeText);
    show("output", info.output.default, info.output.max, sizeText);
    showFileCaps(info);
    showMeter();
  })
  .catch(() => {});

Promise.all([restored, infoLoaded]).then(() => { document.documentElement.dataset.ready = "1"; });

// --- output -------------------------------------------------------------------

function clearOutput() {
  playground.exit = null;
  view.clear();
  outFiles.clear();
  editor.unmark();
  explainEl.replaceChildren();
  setStatus("");
  showMeter();
}

$("clear-output").addEventListener("click", clearOutput);
$("copy-output").addEventListener("click", async () => {
  const b = $("copy-output");
  const ok = await copyText(view.text());
  b.textContent = ok ? "Copied" : "Copy failed";
  setTimeout(() => { b.textContent = "Copy"; }, 1500);
});

// A link to a line of the program: the caret goes there.
document.addEventListener("click", (e) => {
  const a = e.target.closest("a.tb-link");
  if (!a) return;
  e.preventDefault();
  editor.gotoLine(Number(a.dataset.line));
});

function lineLink(n) {
  const a = Object.assign(document.createElement("a"), {
    href: "#", className: "tb-link", textContent: "line " + n, title: "show line " + n + " in the editor",
  });
  a.dataset.line = String(n);
  return a;
}

function finish(exit) {
  playground.exit = exit;
  const stats = `wall ${exit.wall_time.toFixed(3)} s · cpu ${exit.cpu_time.toFixed(3)} s · memory ${exit.memory_kb} KiB`;
  setStatus(`${exit.status} — ${exit.message} · ${stats}`, exit.status === "ok" ? "ok" : "bad");
  status.title = "run " + exit.run_id;
  const traceLine = view.linkTracebacks();
  const { text, type, line } = explain(exit, view.text("stderr"));
  const at = line || (type ? traceLine : null);
  explainEl.replaceChildren();
  if (text) {
    if (type && text.startsWith(type)) {
      explainEl.append(Object.assign(document.createElement("strong"), { textContent: type }), text.slice(type.length));
    } else {
      explainEl.append(text);
    }
  }
  if (at) {
    explainEl.append(text ? " — at " : "At ", lineLink(at));
    editor.markLine(at);
  }
  for (const f of exit.files || []) outFiles.add(f);
  if (exit.limits) showMeter((exit.stdout_bytes || 0) + (exit.stderr_bytes || 0), exit.limits.output);
}

// --- a run -----------------------------------------------------------------------

let controller = null;

function setRunning(on) {
  runBtn.disabled = on;
  stopBtn.disabled = !on;
}

function fields() {
  const f = [["code", editor.value], ["stdin", stdin.value], ["format", "ndjson"]];
  for (const id of ["cpu_time", "wall_time", "memory", "output"]) f.push([id, $(id).value.trim()]);
  return f;
}

async function run() {
  if (controller) return;
  const { args, error } = parseArgs(argsInput.value);
  if (error) {
    setStatus(error, "bad");
    return;
  }
  clearOutput();
  const body = requestBody(fields(), args, inFiles);
  controller = new AbortController();
  const signal = controller.signal;
  setRunning(true);
  setStatus("running…");
  const timing = (playground.timing = { start: performance.now(), firstByte: null, lastByte: null, lastRender: null, framed: null, events: 0 });
  let exit = null, waiting = false;
  const onEvent = (ev) => {
    timing.events++;
    if (ev.stream === "stdout" || ev.stream === "stderr") view.write(ev.stream, ev.data);
    else if (ev.stream === "file") outFiles.add(ev);
    else if (ev.stream === "exit") exit = ev;
  };
  try {
    for (let attempt = 1; ; attempt++) {
      const resp = await fetch(endpoint, { method: "POST", body, signal, headers: { Accept: "application/x-ndjson" } });
      if ((resp.status === 503 || resp.status === 429) && attempt <= MAX_RETRIES) {
        const wait = retryAfter(resp);
        const why = (await refusalText(resp)).replace(/^pysandbox: /, "");
        waiting = true;
        await countdown(wait, signal, (left) => setStatus(`busy, retrying in ${left} s — ${why}`, "busy"));
        waiting = false;
        setStatus("running…");
        continue;
      }
      if (!resp.ok || !resp.body) {
        setStatus(`HTTP ${resp.status}: ${await refusalText(resp)}`, "bad");
        return;
      }
      await readNdjson(resp, onEvent, () => { timing.firstByte = performance.now(); });
      timing.lastByte = performance.now();
      break;
    }
    view.flush();
    if (exit) finish(exit);
    else setStatus("the connection ended before the run did", "bad");
  } catch (e) {
    if (e.name !== "AbortError") setStatus("error: " + e.message, "bad");
    else setStatus(waiting ? "stopped — the retry was cancelled, nothing ran" : "stopped — the run was killed", "bad");
    view.flush();
    view.linkTracebacks();
  } finally {
    controller = null;
    setRunning(false);
    requestAnimationFrame(() => { timing.framed = performance.now(); });
  }
}

$("run-form").addEventListener("submit", (e) => { e.preventDefault(); run(); });
stopBtn.addEventListener("click", () => { if (controller) controller.abort(); });
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
});
