// output.js — the output pane. Text from the run's streams is queued and
// written once per animation frame: consecutive text of one stream becomes
// one text node in a span per stream run, spans live in blocks of about
// BLOCK_CHARS cut at line ends (so the browser lays out only the new block,
// and the oldest blocks can be dropped whole), and the pane scrolls at most
// once per frame, only when the reader was already at the bottom. The DOM
// keeps the last DOM_CAP characters; everything stays in memory for Copy
// (the server's output limit bounds it). Blocks off screen are not laid
// out at all (content-visibility: auto in style.css); each tells the
// browser the height it will have, from its count of lines, so that
// scrolling to the bottom lands there. After the run, `File "main.py",
// line N` in stderr becomes a link.
const BLOCK_CHARS = 8 * 1024;
const DOM_CAP = 2 * 1024 * 1024;
const TRACE_RE = /File "main\.py", line (\d+)/g;

export class OutputView {
  // pre: the <pre>; onTrim(charsDropped): the DOM cap dropped text (0: none);
  // onFlush(): after each DOM update (for timing).
  constructor(pre, { onTrim = () => {}, onFlush = () => {} } = {}) {
    this.pre = pre;
    this.onTrim = onTrim;
    this.onFlush = onFlush;
    this.stick = true;
    pre.addEventListener("scroll", () => {
      this.stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    }, { passive: true });
    this.clear();
  }

  clear() {
    this.cancelSchedule();
    if (this.settle) cancelAnimationFrame(this.settle);
    this.settle = 0;
    this.queue = [];
    this.chunks = [];         // [stream, text], all of the run
    this.blocks = [];         // [element, chars]
    this.block = null;        // the block being filled, its last span, its stream
    this.span = null;
    this.spanStream = null;
    this.blockChars = 0;
    this.endsWithNewline = true;
    this.domChars = 0;
    this.trimmed = 0;
    this.pre.textContent = "";
    this.stick = true;
    this.onTrim(0);
  }

  write(stream, text) {
    if (!text) return;
    this.chunks.push([stream, text]);
    this.queue.push([stream, text]);
    if (!this.raf) {
      // A hidden tab gets no animation frames: the timer still draws.
      this.raf = requestAnimationFrame(() => this.flush());
      this.timer = setTimeout(() => this.flush(), 100);
    }
  }

  cancelSchedule() {
    if (this.raf) cancelAnimationFrame(this.raf);
    if (this.timer) clearTimeout(this.timer);
    this.raf = this.timer = 0;
  }

  // Writes what is queued now.
  flush() {
    this.cancelSchedule();
    if (!this.queue.length) return;
    const q = this.queue;
    this.queue = [];
    for (let i = 0; i < q.length;) {
      const stream = q[i][0];
      let j = i + 1;
      while (j < q.length && q[j][0] === stream) j++;
      this.appendRun(stream, j === i + 1 ? q[i][1] : q.slice(i, j).map((c) => c[1]).join(""));
      i = j;
    }
    this.sizeBlock();
    this.trim();
    this.toBottom();
    this.onFlush();
    // Once laid out for real, the last block may differ from its estimate.
    if (!this.settle) this.settle = requestAnimationFrame(() => { this.settle = 0; this.toBottom(); });
  }

  toBottom() {
    if (this.stick) this.pre.scrollTop = this.pre.scrollHeight;
  }

  // The height the current block will have: its lines (one more for an
  // unfinished last line) at the pane's line height.
  sizeBlock() {
    if (!this.block) return;
    if (!this.lineHeight) this.lineHeight = parseFloat(getComputedStyle(this.pre).lineHeight) || 20;
    const lines = this.blockLines + (this.endsWithNewline ? 0 : 1);
    this.block.style.containIntrinsicSize = `auto ${Math.ceil(lines * this.lineHeight)}px`;
  }

  // Text of one stream, cut into blocks at line ends.
  appendRun(stream, text) {
    let i = 0;
    while (i < text.length) {
      if (!this.block || (this.blockChars >= BLOCK_CHARS && this.endsWithNewline)) this.newBlock();
      const room = BLOCK_CHARS - this.blockChars;
      let end = text.length;
      if (text.length - i > room) {
        let nl = room > 0 ? text.lastIndexOf("\n", i + room - 1) : -1;
        if (nl < i) nl = text.indexOf("\n", i + Math.max(room, 0));
        if (nl >= 0) end = nl + 1;
      }
      this.put(stream, end === text.length && i === 0 ? text : text.slice(i, end));
      i = end;
    }
  }

  newBlock() {
    this.sizeBlock();
    this.block = document.createElement("div");
    this.block.className = "blk";
    this.pre.append(this.block);
    this.blocks.push([this.block, 0]);
    this.blockChars = 0;
    this.blockLines = 0;
    this.span = null;
    this.spanStream = null;
  }

  put(stream, s) {
    if (this.spanStream !== stream) {
      this.span = document.createElement("span");
      this.span.className = stream === "stderr" ? "stderr" : "stdout";
      this.block.append(this.span);
      this.spanStream = stream;
    }
    this.span.append(s);
    for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) this.blockLines++;
    this.blockChars += s.length;
    this.blocks[this.blocks.length - 1][1] += s.length;
    this.domChars += s.length;
    this.endsWithNewline = s.endsWith("\n");
  }

  // Drops the oldest blocks while the DOM holds more than DOM_CAP.
  trim() {
    let dropped = 0;
    while (this.domChars > DOM_CAP && this.blocks.length > 1) {
      const [el, n] = this.blocks.shift();
      el.remove();
      this.domChars -= n;
      dropped += n;
    }
    if (dropped) {
      this.trimmed += dropped;
      this.onTrim(this.trimmed);
    }
  }

  text(stream = null) {
    return this.chunks.filter((c) => !stream || c[0] === stream).map((c) => c[1]).join("");
  }

  isEmpty() { return this.chunks.length === 0; }

  // Makes each `File "main.py", line N` in stderr a link (data-line=N);
  // returns the last N (the innermost frame in the program), or null.
  linkTracebacks() {
    this.flush();
    let last = null;
    for (const span of this.pre.querySelectorAll("span.stderr")) {
      const t = span.textContent;
      if (!t.includes('File "main.py", line ')) continue;
      const frag = document.createDocumentFragment();
      let at = 0;
      for (const m of t.matchAll(TRACE_RE)) {
        frag.append(t.slice(at, m.index));
        const a = document.createElement("a");
        a.href = "#";
        a.className = "tb-link";
        a.dataset.line = m[1];
        a.title = "show line " + m[1] + " in the editor";
        a.textContent = m[0];
        frag.append(a);
        at = m.index + m[0].length;
        last = Number(m[1]);
      }
      frag.append(t.slice(at));
      span.replaceChildren(frag);
    }
    return last;
  }
}
