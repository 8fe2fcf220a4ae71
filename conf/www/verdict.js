// verdict.js — a run's end in words people understand: which limit stopped
// it (CPU, wall clock, memory, output, threads, processes), or which
// exception ended it and at which line. The exception comes from the exit
// object's `exception` (the server's own report channel: the type name,
// builtins plain and others module-qualified, with `exception_line` and
// `limit_reached` "threads"/"processes"; an object {type, message, line} is
// read too); the message is the traceback's last line on stderr when it
// names that type. A server without `exception` has only stderr, whose last
// line then names the exception of a traceback, and the limits are guessed
// from it.

function size(n) {
  if (n % 1073741824 === 0) return n / 1073741824 + " GB";
  if (n % 1048576 === 0) return n / 1048576 + " MB";
  if (n % 1024 === 0) return n / 1024 + " KB";
  return n + " bytes";
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// The exception as {type, message, line}, or null.
export function exceptionOf(exit, stderr) {
  const lastLine = stderr.trimEnd().split("\n").pop() || "";
  const e = exit.exception;
  if (e && typeof e === "object") {
    const type = String(e.type || e.name || "");
    if (!type) return null;
    return { type, message: String(e.message ?? e.value ?? ""), line: Number(e.line ?? e.lineno) || null };
  }
  if (typeof e === "string" && e) {
    const [type, ...rest] = e.split(": ");
    let message = rest.join(": ");
    // A type alone: its message is on stderr's last line, where a class of
    // the program's own is printed without "__main__.".
    for (const name of [type, type.replace(/^__main__\./, "")]) {
      if (!message && lastLine.startsWith(name + ": ")) message = lastLine.slice(name.length + 2);
    }
    return { type, message, line: Number(exit.exception_line) || null };
  }
  if (e !== undefined || exit.status !== "nonzero_exit") return null;
  if (!/^Traceback \(most recent call last\):$|^ {2}File "main\.py", line \d+$/m.test(stderr)) return null;
  const m = /^([A-Za-z_][\w.]*)(?:: (.*))?$/.exec(lastLine);
  return m ? { type: m[1], message: m[2] || "", line: null } : null;
}

// {text, type, line}: a sentence for the run's end (text "" when nothing
// needs saying), the exception's type name, the line to point at.
export function explain(exit, stderr) {
  const lim = exit.limits || {};
  const exc = exceptionOf(exit, stderr);
  const type = exc ? exc.type.split(".").pop() : "";
  const msg = exc ? exc.message : "";
  const forking = /\bfork|_fork_exec|Popen|multiprocessing|posix_spawn|os\.system/.test(stderr);
  let text = "";
  switch (exit.status) {
    case "ok": break;
    case "cpu_limit": text = `Stopped by the CPU time limit (${lim.cpu_time} s).`; break;
    case "wall_limit": text = `Stopped by the wall-clock limit (${lim.wall_time} s).`; break;
    case "memory_limit": text = `Stopped by the memory limit (${size(lim.memory)} of address space).`; break;
    case "output_limit": text = `Stopped by the output limit (${size(lim.output)}): everything before it is shown.`; break;
    case "signal": text = `Killed by signal ${exit.signal}.`; break;
    case "thread_limit": text = `Stopped by the thread limit (${plural(lim.threads, "thread", "threads")}).`; break;
    case "process_limit": text = `Stopped by the process limit (${plural(lim.processes, "process", "processes")}).`; break;
    case "internal_error": text = "The sandbox failed to run the program (the server's log says why)."; break;
    default: break;
  }
  // A refused thread or process: the server's word (limit_reached) when it
  // reports exceptions, else guessed from the traceback.
  let refused = exit.limit_reached;
  if (exit.exception === undefined && exc) {
    if (type === "RuntimeError" && /can't start new thread/.test(msg)) refused = "threads";
    else if (forking && (type === "PermissionError" || type === "BlockingIOError")) refused = "processes";
  }
  if (!text && refused === "threads") {
    text = `Stopped by the thread limit: a run may have ${plural(lim.threads, "thread", "threads")}.`;
  } else if (!text && refused === "processes") {
    text = lim.processes === 1
      ? "Stopped by the process limit: a run here may not start other processes."
      : `Stopped by the process limit: a run may have ${plural(lim.processes, "process", "processes")}.`;
  }
  if (!text && exc) {
    // The server's own message may already say what to add.
    if (type === "ModuleNotFoundError" && !/PySandbox/.test(msg)) {
      text = `${type}: ${msg}. This server does not make that package importable; its administrator can ` +
             "(PySandboxSitePackages, PySandboxPythonPath).";
    } else {
      text = msg ? `${type}: ${msg}` : type;
    }
  }
  return { text, type, line: exc && exc.line };
}
