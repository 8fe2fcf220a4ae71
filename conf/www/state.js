// state.js — the program (code, stdin, args) kept across visits: in the URL
// fragment for sharing, in localStorage for the next visit. A fragment is
// `#z=` + base64url of the deflated JSON {code, stdin, args} (what the Share
// button makes), or `#code=` + the percent-encoded program (for links
// written by hand). The fragment wins over localStorage.
const KEY = "pysandbox-playground";

function toBase64Url(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(s) {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function pipe(bytes, stream) {
  return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(stream)).arrayBuffer());
}

function normalise(o) {
  if (!o || typeof o.code !== "string") return null;
  return { code: o.code, stdin: typeof o.stdin === "string" ? o.stdin : "", args: typeof o.args === "string" ? o.args : "" };
}

// The fragment for a program: compressed where the browser can deflate.
export async function toFragment(state) {
  const s = { code: state.code };
  if (state.stdin) s.stdin = state.stdin;
  if (state.args) s.args = state.args;
  if (typeof CompressionStream === "function") {
    const packed = await pipe(new TextEncoder().encode(JSON.stringify(s)), new CompressionStream("deflate-raw"));
    return "#z=" + toBase64Url(packed);
  }
  return "#code=" + encodeURIComponent(state.code);
}

// The program in a fragment, or null (none, or not one of ours).
export async function fromFragment(hash) {
  try {
    if (hash.startsWith("#code=")) return normalise({ code: decodeURIComponent(hash.slice(6)) });
    if (hash.startsWith("#z=") && typeof DecompressionStream === "function") {
      const raw = await pipe(fromBase64Url(hash.slice(3)), new DecompressionStream("deflate-raw"));
      return normalise(JSON.parse(new TextDecoder().decode(raw)));
    }
  } catch (_) { /* a damaged link: ignored */ }
  return null;
}

export function isShareFragment(hash) { return hash.startsWith("#z=") || hash.startsWith("#code="); }

export function load() {
  try { return normalise(JSON.parse(localStorage.getItem(KEY))); } catch (_) { return null; }
}

export function save(state) {
  try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (_) { /* storage off or full */ }
}
