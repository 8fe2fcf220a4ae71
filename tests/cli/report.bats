#!/usr/bin/env bats
# report.bats — the result's exception (issue 10 point 6): the uncaught
# exception's type and line from the bootstrap's report pipe, never parsed
# from stderr; the thread or process limit named; attempts to forge it.

UID_BASE=607100
load helpers

@test "exception: the type and the line of main.py (ZeroDivisionError, SyntaxError, from a function, a module-qualified one); none for a clean or a SystemExit end" {
    sb -c $'x = 1\n1/0'
    expect_verdict nonzero_exit
    jcheck '.exception == "ZeroDivisionError" and .exception_line == 2'
    sb -c $'print(1)\nx = ('
    jcheck '.exception == "SyntaxError" and .exception_line == 2'
    sb -c $'def f():\n    raise KeyError(1)\n\nf()'
    jcheck '.exception == "KeyError" and .exception_line == 2'
    sb -c $'import json\njson.loads("{")'
    jcheck '.exception == "json.decoder.JSONDecodeError" and .exception_line == 2'
    sb -c $'class ZeroDivisionError(Exception): pass\nraise ZeroDivisionError'
    jcheck '.exception == "__main__.ZeroDivisionError"'
    sb -c 'print("fine")'
    expect_verdict ok
    jcheck 'has("exception") | not'
    sb -c 'raise SystemExit(3)'
    expect_verdict nonzero_exit
    jcheck 'has("exception") | not'
    no_leftovers
}

@test "exception: a run stopped by the thread or the process limit says so (limit_reached)" {
    sb --threads 8 --mem 1000000 -c $'import threading, time\nts = [threading.Thread(target=time.sleep, args=(0.5,)) for i in range(20)]\nfor t in ts: t.start()'
    jcheck '.exception == "RuntimeError" and .limit_reached == "threads"'
    sb -c $'import os\nos.fork()'
    jcheck '.exception == "BlockingIOError" and .limit_reached == "processes"'
    sb -c $'import subprocess\nsubprocess.run(["/bin/true"])'
    jcheck '.limit_reached == "processes"'
    no_leftovers
}

@test "exception: forging it — a fake traceback on stderr is not read, a label written to fd 8 is overridden by the real one, and a program that exits 0 or by a signal has none" {
    sb -c $'import sys\nprint("Traceback (most recent call last):\\nMemoryError", file=sys.stderr)\nraise ValueError'
    jcheck '.exception == "ValueError"'
    sb -c $'import os\nos.write(8, b"MemoryError\\t9\\t\\n")\nraise ValueError'
    jcheck '.exception == "ValueError" and .exception_line == 3'
    # a flood before it cannot push the real line out
    sb -c $'import os\nfor i in range(2000): os.write(8, b"MemoryError\\t9\\t\\n")\nraise ValueError'
    jcheck '.exception == "ValueError" and .exception_line == 3'
    sb -c $'import os\nos.write(8, b"MemoryError\\t9\\t\\n")'
    expect_verdict ok
    jcheck 'has("exception") | not'
    sb -c $'import os, signal\nos.write(8, b"MemoryError\\t9\\t\\n")\nos.kill(os.getpid(), signal.SIGKILL)'
    expect_verdict signal
    jcheck 'has("exception") | not'
    sb -c $'import os\nos.write(8, b"bad name!\\t1\\t\\n" * 3)\nos.close(8)\nraise SystemExit(1)'
    jcheck 'has("exception") | not'
    no_leftovers
}

@test "exception: a program that replaces fd 8 with a file of its own does not get the report written into it" {
    # atexit runs after the bootstrap would have written its line
    sb -c $'import os, atexit\nfd = os.open("mine.txt", os.O_WRONLY | os.O_CREAT)\nos.dup2(fd, 8)\natexit.register(lambda: print(repr(open("mine.txt").read())))\n1/0'
    expect_verdict nonzero_exit
    out_is "''"
    jcheck 'has("exception") | not'
    no_leftovers
}
