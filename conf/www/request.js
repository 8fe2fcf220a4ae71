// request.js — one run over HTTP: the request body (urlencoded, or
// multipart when files go with it; fields that are empty are not sent,
// since the handler refuses fields it does not know), the arguments line
// split as a shell would, the wait a busy server asks for (Retry-After),
// and the ndjson stream read line by line.

// "a 'b c' \"d\\\"e\"" → ["a", "b c", "d\"e"]; {error} for an open quote.
export function parseArgs(line) {
  const args = [];
  let cur = null, quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = null; else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) cur += line[++i];
      else cur += c;
    } else if (/\s/.test(c)) {
      if (cur !== null) args.push(cur);
      cur = null;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur = cur === null ? "" : cur;
    } else if (c === "\\" && i + 1 < line.length) {
      cur = (cur === null ? "" : cur) + line[++i];
    } else {
      cur = (cur === null ? "" : cur) + c;
    }
  }
  if (quote) return { args: [], error: `arguments: the ${quote === "'" ? "single" : "double"} quote is not closed` };
  if (cur !== null) args.push(cur);
  return { args, error: null };
}

// fields: [name, value] pairs, sent when the value is not empty; args: a
// list (one "args" field each); files: an InputFiles (multipart when it
// holds any).
export function requestBody(fields, args, files) {
  const body = files && files.files.size ? new FormData() : new URLSearchParams();
  for (const [k, v] of fields) if (v !== "") body.append(k, v);
  for (const a of args) body.append("args", a);
  if (body instanceof FormData) files.appendTo(body);
  return body;
}

// Seconds to wait before a retry: Retry-After as seconds or as a date,
// within 1..60; 2 when the server did not say.
export function retryAfter(resp) {
  const h = resp.headers.get("Retry-After");
  let s = h === null ? 2 : /^\s*\d+\s*$/.test(h) ? Number(h) : (Date.parse(h) - Date.now()) / 1000;
  if (!Number.isFinite(s)) s = 2;
  return Math.min(60, Math.max(1, Math.ceil(s)));
}

// Resolves after `seconds`, calling tick(secondsLeft) once a second;
// rejects with an AbortError when the signal aborts.
export function countdown(seconds, signal, tick) {
  return new Promise((resolve, reject) => {
    let left = seconds, timer = 0;
    const abort = () => { clearTimeout(timer); reject(new DOMException("retry cancelled", "AbortError")); };
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    const step = () => {
      if (left <= 0) {
        signal.removeEventListener("abort", abort);
        return resolve();
      }
      tick(left);
      left--;
      timer = setTimeout(step, 1000);
    };
    step();
  });
}

// Calls onEvent(object) for each line of an ndjson body and onFirstByte()
// when its first bytes arrive.
export async function readNdjson(resp, onEvent, onFirstByte) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let pending = "", first = true;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (first) { first = false; onFirstByte(); }
    pending += decoder.decode(value, { stream: true });
    let start = 0, nl;
    while ((nl = pending.indexOf("\n", start)) >= 0) {
      if (nl > start) onEvent(JSON.parse(pending.slice(start, nl)));
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  if (pending.trim()) onEvent(JSON.parse(pending));
}

// The one-line reason of a refusal: the JSON body's "error", else the text.
export async function refusalText(resp) {
  const text = (await resp.text()).trim();
  try { return JSON.parse(text).error || text; } catch (_) { return text; }
}
