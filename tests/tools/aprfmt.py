#!/usr/bin/env python3
"""aprfmt.py FILE... — print every C string literal of FILEs holding a
printf conversion that apr_vformatter (apr_psprintf, ap_log_*error,
pysb_fail…) does not know, as FILE:LINE: LITERAL; exit 1 if any.

APR's formatter takes the modifiers h, l, q and APR_INT64_T_FMT's own
(on 64-bit Linux "l"); it has no z, ll, j, t, hh or L: "%zu" comes out as
"%zu" and its argument is left for the next conversion, so every later
number (or a %s: a crash) is shifted. The module's Apache side formats
only through apr, so sizes go with APR_SIZE_T_FMT, 64-bit numbers with
APR_(U)INT64_T_FMT. A libc snprintf there would be flagged too: use
apr_snprintf."""
import re
import sys

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
CONV = re.compile(r'%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(hh|ll|z|j|t|L)[a-zA-Z]')


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
        if CONV.search(text):
            line = src.count('\n', 0, m.start()) + 1
            print(f'{path}:{line}: "{m.group(1)}"')
            bad += 1
sys.exit(1 if bad else 0)
