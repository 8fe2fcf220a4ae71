#!/usr/bin/env python3
"""aprfmt.py FILE... — print every C string literal of FILEs holding a
printf conversion that apr_vformatter (apr_psprintf, ap_log_*error,
pysb_fail…) does not know, as FILE:LINE: LITERAL; exit 1 if any. A literal
that is an argument of libc's own printf family (snprintf, fprintf…, whose
conversions are C's) is not checked.

APR's formatter takes the modifiers h, l, q and APR_INT64_T_FMT's own
(on 64-bit Linux "l"); it has no z, ll, j, t, hh or L: "%zu" comes out as
"%zu" and its argument is left for the next conversion, so every later
number (or a %s: a crash) is shifted. On the Apache side sizes go with
APR_SIZE_T_FMT, 64-bit numbers with APR_(U)INT64_T_FMT."""
import re
import sys

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
CONV = re.compile(r'%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(hh|ll|z|j|t|L)[a-zA-Z]')


LIBC = {'printf', 'fprintf', 'dprintf', 'sprintf', 'snprintf', 'vprintf', 'vfprintf',
        'vdprintf', 'vsprintf', 'vsnprintf'}
CALLEE = re.compile(r'([A-Za-z_][A-Za-z_0-9]*)\s*$')


def callee(src, pos):
    """The name of the call whose parentheses hold pos, or None."""
    depth = 0
    i = pos - 1
    while i >= 0:
        ch = src[i]
        if ch == '"':
            # skip back over a string literal
            i -= 1
            while i >= 0 and not (src[i] == '"' and src[i - 1] != '\\'):
                i -= 1
        elif ch == ')':
            depth += 1
        elif ch == '(':
            if depth == 0:
                m = CALLEE.search(src[max(0, i - 64):i])
                return m.group(1) if m else None
            depth -= 1
        elif ch in ';{}':
            return None
        i -= 1
    return None


def strip_comments(src):
    # keep line numbers: comments become spaces, newlines stay
    def blank(m):
        return re.sub(r'[^\n]', ' ', m.group(0))
    return re.sub(r'/\*.*?\*/|//[^\n]*', blank, src, flags=re.S)


bad = 0
for path in sys.argv[1:]:
    src = strip_comments(open(path, encoding='utf-8').read())
    for m in LITERAL.finditer(src):
        text = m.group(1).replace('%%', '')
        if CONV.search(text) and callee(src, m.start()) not in LIBC:
            line = src.count('\n', 0, m.start()) + 1
            print(f'{path}:{line}: "{m.group(1)}"')
            bad += 1
sys.exit(1 if bad else 0)
