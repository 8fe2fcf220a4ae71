// editor.js — the program's textarea with line numbers: a gutter whose
// scroll follows the textarea's (lines never wrap, so line N of the text is
// line N of the gutter), Tab / Shift-Tab indenting by four spaces, and one
// marked line (the error's) drawn behind the text; the mark goes away when
// the text changes.
export class Editor {
  constructor(wrap) {
    this.wrap = wrap;
    this.ta = wrap.querySelector("textarea");
    this.gutter = wrap.querySelector(".gutter");
    this.mark = wrap.querySelector(".line-mark");
    this.lines = 0;
    this.marked = null;
    this.ta.addEventListener("input", () => { this.unmark(); this.renumber(); });
    this.ta.addEventListener("scroll", () => this.sync(), { passive: true });
    this.ta.addEventListener("keydown", (e) => this.key(e));
    new ResizeObserver(() => this.sync()).observe(this.ta);
    this.renumber();
  }

  get value() { return this.ta.value; }

  set value(v) {
    this.ta.value = v;
    this.unmark();
    this.renumber();
    this.ta.scrollTop = 0;
  }

  renumber() {
    let n = 1;
    for (let i = this.ta.value.indexOf("\n"); i >= 0; i = this.ta.value.indexOf("\n", i + 1)) n++;
    if (n !== this.lines) {
      this.lines = n;
      let s = "";
      for (let i = 1; i <= n; i++) s += i + "\n";
      this.gutter.textContent = s;
      this.wrap.style.setProperty("--gutter-digits", String(Math.max(2, String(n).length)));
    }
    this.sync();
  }

  lineHeight() { return parseFloat(getComputedStyle(this.ta).lineHeight) || 20; }

  sync() {
    this.gutter.scrollTop = this.ta.scrollTop;
    if (this.marked) {
      const top = parseFloat(getComputedStyle(this.ta).paddingTop) + (this.marked - 1) * this.lineHeight();
      this.mark.style.transform = `translateY(${top - this.ta.scrollTop}px)`;
    }
  }

  // Inserts through the editing commands when the browser has them, so
  // that undo still works.
  insert(text, start, end) {
    this.ta.setSelectionRange(start, end);
    if (!document.execCommand || !document.execCommand("insertText", false, text)) {
      this.ta.setRangeText(text, start, end, "end");
      this.ta.dispatchEvent(new Event("input"));
    }
  }

  key(e) {
    if (e.key !== "Tab" || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    const v = this.ta.value, s = this.ta.selectionStart, t = this.ta.selectionEnd;
    if (!e.shiftKey) {
      this.insert("    ", s, t);
      return;
    }
    // Shift-Tab: up to four leading spaces off each line of the selection.
    const from = v.lastIndexOf("\n", s - 1) + 1;
    const to = t > s && v[t - 1] === "\n" ? t - 1 : t;
    const block = v.slice(from, to);
    const out = block.replace(/^ {1,4}/gm, "");
    if (out === block) return;
    this.insert(out, from, to);
    this.ta.setSelectionRange(from, from + out.length);
  }

  // The offset of line n's first character (n from 1), clamped to the text.
  offsetOf(n) {
    const v = this.ta.value;
    let at = 0;
    for (let i = 1; i < n; i++) {
      const nl = v.indexOf("\n", at);
      if (nl < 0) return at;
      at = nl + 1;
    }
    return at;
  }

  markLine(n) {
    if (!(n >= 1 && n <= this.lines)) return this.unmark();
    this.marked = n;
    this.mark.dataset.line = String(n);
    this.mark.hidden = false;
    this.gutter.dataset.marked = String(n);
    this.sync();
  }

  unmark() {
    if (!this.marked) return;
    this.marked = null;
    this.mark.hidden = true;
    delete this.mark.dataset.line;
    delete this.gutter.dataset.marked;
  }

  // Puts the caret at the start of line n, scrolled into view, focused.
  gotoLine(n) {
    const at = this.offsetOf(n);
    this.ta.focus();
    this.ta.setSelectionRange(at, at);
    const lh = this.lineHeight(), y = (n - 1) * lh;
    if (y < this.ta.scrollTop || y + lh > this.ta.scrollTop + this.ta.clientHeight) {
      this.ta.scrollTop = Math.max(0, y - this.ta.clientHeight / 3);
    }
    this.sync();
  }
}
