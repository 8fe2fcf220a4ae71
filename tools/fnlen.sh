#!/bin/bash
# fnlen.sh — size of the C sources: lines per file, and the longest
# functions (lines from the signature's first line to the closing brace),
# from universal-ctags' line/end fields.
#
# Usage: tools/fnlen.sh [N]   (N longest functions, default 15)
# Files: mod_pysandbox.c, httpd/*.c, src/*.c, src/*.h, tools/*.c (those that
# exist), so the same command measures the tree before and after a split.
set -eu
cd "$(dirname "$0")/.."
n=${1:-15}
shopt -s nullglob
files=$(echo mod_pysandbox.c httpd/*.[ch] src/*.[ch] tools/*.c)
echo "## lines per file"
# shellcheck disable=SC2086
wc -l $files | sort -n | awk '{ printf "%6d  %s\n", $1, $2 }'
echo
echo "## the $n longest functions"
# shellcheck disable=SC2086
ctags --c-kinds=f --fields=+ne -o - $files |
    awk -F'\t' '{
        line = ""; end = ""
        for (i = 4; i <= NF; i++) {
            if ($i ~ /^line:/) line = substr($i, 6)
            if ($i ~ /^end:/) end = substr($i, 5)
        }
        if (line != "" && end != "") printf "%6d  %s %s:%s\n", end - line + 1, $1, $2, line
    }' | sort -rn | head -n "$n"
