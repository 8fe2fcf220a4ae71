// The playground: runs the program through the handler with the ndjson
// format and a streaming fetch() body, so output appears as it is printed.
// Stop aborts the request; the server then kills the run.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const form = $("run-form"), code = $("code"), stdin = $("stdin");
  const out = $("output-area"), status = $("status"), runBtn = $("run"), stopBtn = $("stop");
  const endpoint = new URL("run", document.baseURI).toString();
  for (const el of document.querySelectorAll(".origin")) el.textContent = new URL(".", document.baseURI).toString();

  const examples = {
    hello: ['print("hello world")', ""],
    stdin: ['name = input("name? ")\nprint(f"hello, {name}!")\nfor line in __import__("sys").stdin:\n    print("more:", line.rstrip())', "Ada\nsecond line\nthird line\n"],
    loop: ["while True:\n    pass", ""],
    memory: ['blocks = []\nwhile True:\n    blocks.append(" " * 10_000_000)', ""],
    file: ['print(open("/etc/passwd").read())', ""],
    network: ['import socket\nsocket.create_connection(("127.0.0.1", 80), timeout=2)\nprint("connected")', ""],
    stream: ['import time\nfor i in range(5):\n    print("tick", i, flush=True)\n    time.sleep(0.5)', ""],
  };
  $("example").addEventListener("change", (e) => {
    const ex = examples[e.target.value];
    if (ex) { code.value = ex[0]; stdin.value = ex[1]; code.focus(); }
  });

  // Tab indents with spaces; Ctrl/Cmd-Enter runs.
  code.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      const s = code.selectionStart, t = code.selectionEnd;
      code.setRangeText("    ", s, t, "end");
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });

  // Defaults and maximums of this Location.
  fetch(endpoint + "?info=1", { headers: { Accept: "application/json" } })
    .then((r) => r.ok ? r.json() : null)
    .then((info) => {
      if (!info) return;
      const size = (n) => n % 1048576 === 0 ? n / 1048576 + "M" : n % 1024 === 0 ? n / 1024 + "K" : String(n);
      const show = (id, d, m, fmt) => {
        const el = $(id);
        el.placeholder = fmt(d);
        el.title = "default " + fmt(d) + ", at most " + fmt(m);
        el.parentElement.append(Object.assign(document.createElement("small"),
          { textContent: " max " + fmt(m), className: "hint" }));
      };
      show("cpu_time", info.cpu_time.default, info.cpu_time.max, String);
      show("wall_time", info.wall_time.default, info.wall_time.max, String);
      show("memory", info.memory.default, info.memory.max, size);
      show("output", info.output.default, info.output.max, size);
    })
    .catch(() => {});

  let controller = null;

  function setStatus(text, cls) { status.textContent = text; status.className = cls || ""; }

  function append(stream, text) {
    const span = document.createElement("span");
    if (stream === "stderr") span.className = "stderr";
    span.textContent = text;
    out.append(span);
    out.scrollTop = out.scrollHeight;
  }

  function finish(ev) {
    const stats = `wall ${ev.wall_time.toFixed(3)} s · cpu ${ev.cpu_time.toFixed(3)} s · memory ${ev.memory_kb} KiB`;
    setStatus(`${ev.status} — ${ev.message} · ${stats}`, ev.status === "ok" ? "ok" : "bad");
  }

  async function run() {
    if (controller) return;
    out.textContent = "";
    setStatus("running…");
    const body = new URLSearchParams();
    body.set("code", code.value);
    body.set("stdin", stdin.value);
    body.set("format", "ndjson");
    for (const id of ["cpu_time", "wall_time", "memory", "output"]) {
      if ($(id).value.trim()) body.set(id, $(id).value.trim());
    }
    controller = new AbortController();
    runBtn.disabled = true;
    stopBtn.disabled = false;
    let sawExit = false;
    try {
      const resp = await fetch(endpoint, { method: "POST", body, signal: controller.signal,
                                           headers: { Accept: "application/x-ndjson" } });
      if (!resp.ok || !resp.body) {
        const text = await resp.text();
        let msg = text.trim();
        try { msg = JSON.parse(text).error || msg; } catch (_) {}
        setStatus(`HTTP ${resp.status}: ${msg}`, "bad");
        return;
      }
      const reader = resp.body.getReader();
      const decoder = new TextDecoder();
      let pending = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!line) continue;
          const ev = JSON.parse(line);
          if (ev.stream === "exit") { sawExit = true; finish(ev); }
          else append(ev.stream, ev.data);
        }
      }
      if (!sawExit) setStatus("the connection ended before the run did", "bad");
    } catch (e) {
      setStatus(e.name === "AbortError" ? "stopped — the run was killed" : "error: " + e.message, "bad");
    } finally {
      controller = null;
      runBtn.disabled = false;
      stopBtn.disabled = true;
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  stopBtn.addEventListener("click", () => { if (controller) controller.abort(); });
})();
