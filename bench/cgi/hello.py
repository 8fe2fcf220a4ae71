#!/usr/bin/python3 -IS
# bench/cgi/hello.py — the unsandboxed baseline of bench/http.sh: a plain
# CGI script (mod_cgid) doing the module's work minus the sandbox. It reads
# the POSTed program (raw body, Content-Type text/x-python) from stdin,
# compiles it as main.py and runs it as __main__ in this very interpreter,
# its output going straight to the client as text/plain. No limits, no
# separate uid, no namespaces, no report: never expose it anywhere.
# The shebang says -IS, not -I -S: Linux passes everything after the
# interpreter's path as one argument, and python3 rejects "-I -S".
import os
import sys

n = int(os.environ.get("CONTENT_LENGTH") or 0)
code = sys.stdin.buffer.read(n) if n > 0 else b""
out = sys.stdout.buffer
out.write(b"Content-Type: text/plain; charset=utf-8\r\n\r\n")
out.flush()
exec(compile(code, "main.py", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
