#!/usr/bin/env bats
# packages.bats — packages (issue 10 point 1): --python-path DIR (read-only,
# first on sys.path, in order) and --site-packages (the interpreter's own
# site directories, asked of it, read-only, after the stdlib); the README's
# recipes for numpy, matplotlib, pandas and sympy on Debian 12.

UID_BASE=607300
load helpers

MPL_RO=(--ro /usr/share/matplotlib --ro /etc/matplotlibrc)

@test "packages: without --site-packages numpy is not importable; with it numpy works and sys.path is the stdlib then the site directories" {
    sb -c 'import numpy'
    expect_verdict nonzero_exit
    jcheck '.exception == "ModuleNotFoundError"'
    sb --site-packages -c 'import numpy, sys
print(numpy.arange(10).sum())
print(sys.path)'
    expect_verdict ok
    out_has "45"
    out_has "'/usr/lib/python3.11', '/usr/lib/python3.11/lib-dynload', "
    out_has "'/usr/lib/python3/dist-packages'"
    # read-only: nothing written there
    sb --site-packages -c 'open("/usr/lib/python3/dist-packages/pysb-x", "w")'
    # EROFS in the minimal root (a read-only bind), EACCES from Landlock
    jcheck '.exception == "OSError" or .exception == "PermissionError"'
    [ ! -e /usr/lib/python3/dist-packages/pysb-x ] || fail "wrote into the site directory"
    no_leftovers
}

@test "packages: --python-path dirs come first on sys.path, in order, read-only; a package there shadows the stdlib's name as PYTHONPATH would" {
    local a="/var/tmp/pysb-pp-$TEST_UID-a" b="/var/tmp/pysb-pp-$TEST_UID-b"
    mkdir -p "$a/mylib" "$b"
    CLEANUP_PATHS+=("$a" "$b")
    echo 'VALUE = 42' > "$a/mylib/__init__.py"
    echo 'print("shadowed")' > "$b/mylib.py"
    chmod -R a+rX "$a" "$b"
    sb --python-path "$a" --python-path "$b" -c 'import sys, mylib
print(sys.path[:2], mylib.VALUE)
try:
    open("'"$a"'/x", "w")
except OSError as e:
    print("DENIED", e.errno)'
    expect_verdict ok
    out_has "['$a', '$b'] 42"
    grep -qE "^DENIED (13|30)$" "$SB_OUT" || fail "written into a --python-path dir"
    sb_raw --uid "$TEST_UID" --python-path relative -c 'pass'
    expect_status 2
    no_leftovers
}

@test "packages: the matplotlib recipe (site-packages, /usr/share/matplotlib, /etc/matplotlibrc, the scratch for its config) saves a PNG" {
    sb --site-packages "${MPL_RO[@]}" --mem 1000000 --cpu 20 --clock 40 -c 'import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [1, 4, 9], label="squares"); plt.legend()
plt.savefig("plot.png")
data = open("plot.png", "rb").read()
print(data[:8] == b"\x89PNG\r\n\x1a\n", len(data) > 5000)'
    expect_verdict ok
    out_is "True True"
    no_leftovers
}

@test "packages: the pandas (with /usr/share/zoneinfo) and sympy recipes work" {
    [ "$(dpkg-query -W -f='${Status}\n' python3-pandas python3-sympy 2>/dev/null | grep -c "install ok installed")" = 2 ] \
        || skip "python3-pandas or python3-sympy not installed (make test installs numpy and matplotlib only)"
    sb --site-packages --ro /usr/share/zoneinfo --mem 1000000 --cpu 20 --clock 40 -c 'import pandas as pd
df = pd.DataFrame({"a": [1, 2, 3]})
df.to_csv("a.csv")
print(int(df.a.sum()), open("a.csv").read().splitlines()[0])'
    expect_verdict ok
    out_is "6 ,a"
    sb --site-packages --mem 1000000 --cpu 20 --clock 40 -c 'import sympy
x = sympy.symbols("x")
print(sympy.integrate(x**2, x))'
    expect_verdict ok
    out_is "x**3/3"
    no_leftovers
}

@test "packages: a package only a fragment of which is in the sandbox is an error naming it and what to add, not an empty namespace package; try/except ImportError still works" {
    # Debian splits numpy: /usr/lib/python3.11/dist-packages/numpy holds one
    # .so (readable, under the stdlib) and no __init__.py; the package is in
    # /usr/lib/python3/dist-packages, which the run's root does not hold.
    sb -c 'import sys
sys.path += ["/usr/lib/python3/dist-packages", "/usr/lib/python3.11/dist-packages"]
import numpy'
    expect_verdict nonzero_exit
    err_has "ModuleNotFoundError: numpy: only a fragment of it, /usr/lib/python3.11/dist-packages/numpy (no __init__.py), is in the sandbox: the package is installed elsewhere; PySandboxSitePackages On (--site-packages) or PySandboxPythonPath (--python-path) add it"
    ! grep -q 'in find_spec' "$SB_ERR" || fail "the guard's own frame is in the traceback"
    jcheck '.exception == "ModuleNotFoundError" and .exception_line == 3'
    # control: the same program outside the sandbox, as the run's uid with
    # that directory unreadable, is what the guard prevents: here readable,
    # so plain python3 imports the real numpy
    plain 'import sys
sys.path += ["/usr/lib/python3/dist-packages", "/usr/lib/python3.11/dist-packages"]
import numpy; print(numpy.arange(3).sum())'
    expect_output '^3$'
    sb -c 'import sys
sys.path.append("/usr/lib/python3/dist-packages")
try:
    import numpy
except ImportError as e:
    print("caught", type(e).__name__)'
    expect_verdict ok
    out_is "caught ModuleNotFoundError"
    no_leftovers
}

@test "figures: with matplotlib imported, plt.show() and the figures left open at the end come back as out/figure-N.png, also after an exception; without the import nothing of matplotlib is loaded" {
    sb --site-packages "${MPL_RO[@]}" --mem 1000000 --cpu 20 --clock 40 -c 'import matplotlib.pyplot as plt
plt.plot([1, 2, 3]); plt.show()
plt.figure(); plt.plot([3, 2, 1])
1/0'
    expect_verdict nonzero_exit
    jcheck '.exception == "ZeroDivisionError"'
    jcheck '[.files[].name] == ["figure-1.png", "figure-2.png"]'
    jcheck '[.files[] | .type == "image/png" and .size > 5000 and (.base64 | startswith("iVBORw0KGgo"))] | all'
    # a figure the program saved itself is its file alone, not a second
    # figure-N.png; show() takes the next name the program has not taken
    # (review-work 8)
    sb --site-packages "${MPL_RO[@]}" --mem 1000000 --cpu 20 --clock 40 -c 'import os
import matplotlib.pyplot as plt
os.makedirs("out")
open("out/figure-1.png", "wb").write(b"mine")
plt.plot([1, 2, 3]); plt.savefig("out/mine.png")
plt.figure(); plt.plot([3, 2, 1]); plt.show()'
    expect_verdict ok
    jcheck '[.files[].name] == ["figure-1.png", "figure-2.png", "mine.png"]'
    jcheck '(.files[0].base64 | @base64d) == "mine" and .files[1].size > 5000 and .files[2].size > 5000'
    # the idiom savefig then show: the program's file alone
    sb --site-packages "${MPL_RO[@]}" --mem 1000000 --cpu 20 --clock 40 -c 'import matplotlib.pyplot as plt
plt.plot([1, 2, 3]); plt.savefig("plot.png"); plt.show()
print(type(plt.gcf().canvas).__qualname__)'
    expect_verdict ok
    out_is "FigureCanvas"
    jcheck '(.files // []) == []'
    # savefig to a buffer is no file of the program's: show still saves it;
    # with matplotlib.use("Agg") the program keeps its figures itself
    # (attack6 F5, F3)
    sb --site-packages "${MPL_RO[@]}" --mem 1000000 --cpu 20 --clock 40 -c 'import io
import matplotlib.pyplot as plt
plt.plot([1, 2, 3]); plt.savefig(io.BytesIO(), format="png"); plt.show()'
    expect_verdict ok
    jcheck '[.files[].name] == ["figure-1.png"]'
    sb --site-packages "${MPL_RO[@]}" --mem 1000000 --cpu 20 --clock 40 -c 'import os, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
os.makedirs("out")
plt.plot([1, 2, 3]); plt.savefig("out/plot.png")'
    expect_verdict ok
    jcheck '[.files[].name] == ["plot.png"]'
    # one figure that cannot be drawn (bad mathtext) costs itself alone:
    # one stderr line naming it, the figures after it are still saved
    sb --site-packages "${MPL_RO[@]}" --mem 1000000 --cpu 20 --clock 40 -c 'import matplotlib.pyplot as plt
plt.plot([1, 2, 3]); plt.title(r"$\frac{$")
plt.figure(); plt.plot([3, 2, 1]); plt.show()
print("after show")'
    expect_verdict ok
    out_is "after show"
    jcheck '[.files[].name] == ["figure-2.png"]'
    jcheck '.stderr | test("^pysandbox: figure-1.png not saved: ValueError")'
    sb -c 'import sys; print("matplotlib" in sys.modules, "_pysb_mpl" in sys.modules)'
    out_is "False True"
    no_leftovers
}
