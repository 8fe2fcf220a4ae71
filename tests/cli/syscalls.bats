#!/usr/bin/env bats
# syscalls.bats — seccomp, seen through raw syscalls made with ctypes (so no
# Python-level check is involved). Denied calls return -1 with EPERM, EACCES
# or ENOSYS and the program goes on; foreign ABIs kill the process with
# SIGSYS. Every case has an unsandboxed control with a different outcome.

UID_BASE=600600
load helpers

# raw_syscall NR ARGS... -> Python code printing "RESULT r errno" then
# "AFTER" (proving the process survived the call).
raw_syscall() {
    local nr="$1"; shift
    local args="" a
    for a in "$@"; do
        if [ "$a" = NULL ]; then args+=", None"; else args+=", L($a)"; fi
    done
    printf '%s\n' 'import ctypes' \
        'libc = ctypes.CDLL(None, use_errno=True)' \
        'libc.syscall.restype = ctypes.c_long' \
        'L = ctypes.c_long' \
        'ctypes.set_errno(0)' \
        "r = libc.syscall(L($nr)$args)" \
        'print("RESULT", r, ctypes.get_errno() if r < 0 else 0, flush=True)' \
        'print("AFTER", flush=True)'
}

# The sandbox denied it (and the process lived on).
expect_denied() {
    expect_verdict ok
    grep -qE '^RESULT -1 (1|13|38)$' "$SB_OUT" || fail "syscall not denied with EPERM/EACCES/ENOSYS"
    out_has "AFTER"
}

# The control did something else than a denial.
expect_not_denied() {
    if grep -qE '^RESULT -1 (1|13|38)$' <<<"$output" || ! grep -q '^RESULT' <<<"$output"; then
        echo "control looks denied too: $output" >&2
        return 1
    fi
}

@test "syscall: socket(AF_INET, SOCK_STREAM) (nr 41) is denied (control: fd)" {
    local code; code=$(raw_syscall 41 2 1 0)
    sb -c "$code"
    expect_denied
    plain "$code"
    expect_output '^RESULT [0-9]+ 0$'
    no_leftovers
}

@test "syscall: ptrace(PTRACE_TRACEME) (nr 101) is denied (control: 0)" {
    local code; code=$(raw_syscall 101 0 0 0 0)
    sb -c "$code"
    expect_denied
    plain "$code"
    expect_output '^RESULT 0 0$'
    no_leftovers
}

@test "syscall: ptrace denied even with --nproc 5" {
    local code; code=$(raw_syscall 101 0 0 0 0)
    sb --nproc 5 -c "$code"
    expect_denied
    no_leftovers
}

@test "syscall: unshare(CLONE_NEWUSER) (nr 272) is denied (control: 0)" {
    local code; code=$(raw_syscall 272 0x10000000)
    sb -c "$code"
    expect_denied
    plain "$code"
    expect_output '^RESULT 0 0$'
    no_leftovers
}

@test "syscall: unshare(CLONE_NEWNS|CLONE_NEWNET) is denied (control: 0)" {
    local code; code=$(raw_syscall 272 0x40020000)
    sb -c "$code"
    expect_denied
    plain "$code"
    expect_output '^RESULT 0 0$'
    no_leftovers
}

@test "syscall: io_uring_setup (nr 425) is denied (control: EFAULT, not a denial)" {
    local code; code=$(raw_syscall 425 1 NULL)
    sb -c "$code"
    expect_denied
    plain "$code"
    expect_not_denied
    no_leftovers
}

@test "syscall: bpf(BPF_PROG_LOAD, NULL) (nr 321) is denied (control: errno is not EPERM)" {
    local code; code=$(raw_syscall 321 5 NULL 128)
    sb -c "$code"
    expect_denied
    plain "$code"
    expect_not_denied
    no_leftovers
}

@test "syscall: keyring, userfaultfd, perf, mount, SysV IPC, mqueue, setns, handles are denied" {
    local code='import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
L = ctypes.c_long
cases = [
    ("keyctl", 250, (L(0), L(-3), L(0))),
    ("userfaultfd", 323, (L(0),)),
    ("perf_event_open", 298, (None, L(0), L(-1), L(-1), L(0))),
    ("mount", 165, (None, None, None, L(0), None)),
    ("msgget", 68, (L(0x7073627), L(0))),
    ("semget", 64, (L(0x7073627), L(0), L(0))),
    ("shmget", 29, (L(0x7073627), L(0), L(0))),
    ("mq_open", 240, (None, L(0), L(0), None)),
    ("setns", 308, (L(-1), L(0))),
    ("open_by_handle_at", 304, (L(-1), None, L(0))),
    ("fanotify_init", 300, (L(0), L(0))),
]
for name, nr, args in cases:
    ctypes.set_errno(0)
    r = libc.syscall(L(nr), *args)
    print(name, r, ctypes.get_errno() if r < 0 else 0, flush=True)
print("ALLDONE")'
    sb -c "$code"
    expect_verdict ok
    out_has "ALLDONE"
    local bad
    bad=$(awk 'NF == 3 && !($2 == -1 && ($3 == 1 || $3 == 13 || $3 == 38))' "$SB_OUT")
    [ -z "$bad" ] || fail "not denied in the sandbox: $bad"
    [ "$(grep -c . "$SB_OUT")" -eq 12 ] || fail "missing lines"
    plain "$code"
    [ "$status" -eq 0 ]
    bad=$(awk 'NF == 3 && ($2 == -1 && ($3 == 1 || $3 == 13 || $3 == 38))' <<<"$output")
    [ -z "$bad" ] || { echo "control denied too: $bad" >&2; return 1; }
    no_leftovers
}

@test "syscall: an unlisted syscall (syslog) gets an error, not a kill; output before it is kept" {
    local code; code='print("BEFORE", flush=True)
'$(raw_syscall 103 10 NULL 0)
    sb -c "$code"
    expect_denied
    out_has "BEFORE"
    plain "$code"
    expect_output '^RESULT [1-9][0-9]* 0$'
    no_leftovers
}

@test "syscall: a syscall number the kernel does not know (nr 1000) gets ENOSYS, not a kill" {
    local code; code=$(raw_syscall 1000 0)
    sb -c "$code"
    expect_verdict ok
    out_has "RESULT -1 38"
    out_has "AFTER"
    plain "$code"
    expect_output '^RESULT -1 38$'
    no_leftovers
}

@test "syscall: x32 getpid (0x40000000|39) kills the process with SIGSYS (control: pid or ENOSYS)" {
    local code='print("BEFORE", flush=True)
'$(raw_syscall 0x40000027)
    sb -c "$code"
    expect_verdict signal
    jcheck '.signal == "SIGSYS" and .exit_code == null'
    jcheck '.message == "Command terminated by signal (31: SIGSYS)"'
    out_is "BEFORE"
    # Unsandboxed, this kernel either runs the x32 getpid (a pid) or, built
    # without CONFIG_X86_X32_ABI, answers ENOSYS; either way the process lives.
    plain "$code"
    expect_output '^RESULT ([1-9][0-9]* 0|-1 38)$'
    expect_output '^AFTER$'
    no_leftovers
}

@test "syscall: i386 getpid via int 0x80 kills the process with SIGSYS (control: returns the pid)" {
    local code='import ctypes, mmap, os
print("BEFORE", flush=True)
m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
m.write(b"\xb8\x14\x00\x00\x00\xcd\x80\xc3")   # mov eax,20; int 0x80; ret
f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
print("MAPPED", flush=True)
r = f()
print("RESULT", r, r == os.getpid(), flush=True)'
    sb -c "$code"
    expect_verdict signal
    jcheck '.signal == "SIGSYS"'
    [ "$sb_out" = "BEFORE
MAPPED" ] || fail "unexpected output"
    plain "$code"
    expect_output '^RESULT [0-9]+ True$'
    no_leftovers
}
