// files.js — files in and out of a run.
// In: the files chosen (or dropped) for the run, listed with name and size,
// removable, sent as multipart parts named "files" carrying their file name.
// Out: the files a run returns ({name, size, type, attachment, base64})
// become Blob URLs: PNG, JPEG and GIF (type and magic bytes agreeing, and
// not marked attachment by the server) are shown inline; every other file,
// SVG and HTML included, is a download of an application/octet-stream Blob,
// never rendered by the page (a Blob URL has the page's origin). A file the
// server did not return ({name, size, dropped: why}) is named in a note,
// grouped by the reason.

export function formatSize(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + " KB";
  return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB";
}

export class InputFiles {
  // list: the <ul>; picker: the <input type=file>; dropZone: where files may be dropped.
  constructor(list, picker, dropZone, onChange = () => {}) {
    this.list = list;
    this.files = new Map();
    this.onChange = onChange;
    picker.addEventListener("change", () => {
      this.add(picker.files);
      picker.value = "";
    });
    dropZone.addEventListener("dragover", (e) => {
      if (!picker.disabled && e.dataTransfer && [...e.dataTransfer.types].includes("Files")) {
        e.preventDefault();
        dropZone.classList.add("dropping");
      }
    });
    dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dropping"));
    dropZone.addEventListener("drop", (e) => {
      dropZone.classList.remove("dropping");
      if (picker.disabled) return; // the server takes no files here
      if (e.dataTransfer && e.dataTransfer.files.length) {
        e.preventDefault();
        this.add(e.dataTransfer.files);
      }
    });
    list.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-name]");
      if (!b) return;
      this.files.delete(b.dataset.name);
      this.render();
    });
    this.render();
  }

  // A file of the same name replaces the earlier one.
  add(fileList) {
    for (const f of fileList) this.files.set(f.name, f);
    this.render();
  }

  clear() { this.files.clear(); this.render(); }

  render() {
    this.list.replaceChildren(...[...this.files.values()].map((f) => {
      const li = document.createElement("li");
      const name = Object.assign(document.createElement("span"), { className: "name", textContent: f.name });
      const size = Object.assign(document.createElement("span"), { className: "size", textContent: formatSize(f.size) });
      const rm = Object.assign(document.createElement("button"), {
        type: "button", className: "remove", textContent: "×", title: "remove " + f.name,
      });
      rm.dataset.name = f.name;
      rm.setAttribute("aria-label", "remove " + f.name);
      li.append(name, size, rm);
      return li;
    }));
    this.list.hidden = this.files.size === 0;
    this.onChange(this.files.size);
  }

  // Adds the files to a FormData, one part each.
  appendTo(form) {
    for (const f of this.files.values()) form.append("files", f, f.name);
  }
}

const INLINE = {
  "image/png": [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  "image/jpeg": [0xff, 0xd8, 0xff],
  "image/gif": [0x47, 0x49, 0x46, 0x38],
};

function decodeBase64(b64) {
  const bin = atob(b64 || "");
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function inlineType(type, bytes) {
  const magic = INLINE[String(type || "").split(";")[0].trim().toLowerCase()];
  return magic && magic.every((b, i) => bytes[i] === b);
}

export class OutputFiles {
  constructor(box) {
    this.box = box;
    this.urls = [];
    this.clear();
  }

  clear() {
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
    this.droppedBy = new Map();
    this.droppedNote = null;
    this.box.replaceChildren();
    this.box.hidden = true;
  }

  // f: {name, size, type, attachment, base64}, or {name, size, dropped}.
  add(f) {
    if (f.dropped !== undefined) return this.dropped(f);
    let bytes;
    try {
      bytes = decodeBase64(f.base64);
    } catch (_) {
      this.note(`${f.name}: not valid base64, not shown`);
      return;
    }
    const name = String(f.name || "file");
    const image = !f.attachment && inlineType(f.type, bytes);
    const url = URL.createObjectURL(new Blob([bytes], { type: image ? f.type : "application/octet-stream" }));
    this.urls.push(url);
    const link = Object.assign(document.createElement("a"), { href: url, download: name, textContent: name });
    const meta = Object.assign(document.createElement("span"), {
      className: "meta", textContent: `${formatSize(bytes.length)}${f.type ? " · " + f.type : ""}`,
    });
    let item;
    if (image) {
      item = document.createElement("figure");
      item.className = "out-image";
      const img = Object.assign(document.createElement("img"), { src: url, alt: name });
      const cap = document.createElement("figcaption");
      cap.append(link, " ", meta);
      item.append(img, cap);
    } else {
      item = document.createElement("div");
      item.className = "out-file";
      item.append(link, " ", meta);
    }
    this.box.append(item);
    this.box.hidden = false;
  }

  // A file the server did not return: one note lists them all, by reason.
  dropped(f) {
    const why = String(f.dropped || "not returned");
    if (!this.droppedBy.has(why)) this.droppedBy.set(why, []);
    this.droppedBy.get(why).push(String(f.name || "?"));
    const text = [...this.droppedBy].map(([w, names]) => `${w}: ${names.join(", ")}`).join("; ");
    if (!this.droppedNote) this.droppedNote = this.note("");
    this.droppedNote.textContent = "not returned (" + text + ")";
  }

  note(text) {
    const p = Object.assign(document.createElement("p"), { className: "files-note", textContent: text });
    this.box.append(p);
    this.box.hidden = false;
    return p;
  }
}
