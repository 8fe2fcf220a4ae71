// examples.js — the programs of the example menu: [group label, [key,
// menu label, code, stdin, args]]. The keys are stable (tests choose them).
// The numpy and matplotlib ones need a Location that makes those packages
// importable (PySandboxSitePackages / PySandboxPythonPath) and, for the plot,
// a scratch directory; until then the page shows the server's error.
export const EXAMPLE_GROUPS = [
  ["Basics", [
    ["hello", "hello world", 'print("hello world")', ""],
    ["stdin", "input / stdin",
     'name = input("name? ")\nprint(f"hello, {name}!")\nfor line in __import__("sys").stdin:\n    print("more:", line.rstrip())',
     "Ada\nsecond line\nthird line\n"],
    ["traceback", "an error and its line",
     'def mean(values):\n    return sum(values) / len(values)\n\nprint(mean([1, 2, 3]))\nprint(mean([]))',
     ""],
    ["stream", "slow output (streaming)",
     'import time\nfor i in range(5):\n    print("tick", i, flush=True)\n    time.sleep(0.5)', ""],
    ["lines", "50 000 lines of output",
     'for i in range(50_000):\n    print("line", i)', ""],
  ]],
  ["Data and plots", [
    ["numpy", "numpy: a computation",
     'import numpy as np\n\na = np.arange(12).reshape(3, 4)\nprint(a)\nprint("column sums:", a.sum(axis=0))\n' +
     'rng = np.random.default_rng(7)\nm = rng.normal(size=(200, 200))\n' +
     'print("mean %.4f, std %.4f" % (m.mean(), m.std()))\nsign, logdet = np.linalg.slogdet(m)\n' +
     'print("log|det| of a random 200x200 matrix: %.3f" % logdet)',
     ""],
    ["plot", "matplotlib: a plot",
     'import numpy as np\nimport matplotlib.pyplot as plt\n\nx = np.linspace(0, 2 * np.pi, 200)\n' +
     'plt.plot(x, np.sin(x), label="sin x")\nplt.plot(x, np.cos(x), label="cos x")\n' +
     'plt.title("Two curves from the sandbox")\nplt.legend()\nplt.show()',
     ""],
    ["files", "files in and out, arguments",
     'import argparse, csv, os\n\n' +
     'parser = argparse.ArgumentParser()\nparser.add_argument("--rows", type=int, default=5)\nparser.add_argument("header")\n' +
     'args = parser.parse_args()\nprint("arguments:", args)\nprint("files here:", sorted(os.listdir(".")))\n\n' +
     '# Files left in out/ come back as downloads.\nos.makedirs("out", exist_ok=True)\n' +
     'with open("out/squares.csv", "w", newline="") as f:\n    w = csv.writer(f)\n    w.writerow([args.header, "squared"])\n' +
     '    for n in range(args.rows):\n        w.writerow([n, n * n])\nprint("wrote out/squares.csv")',
     "", '--rows 8 "the number n"'],
  ]],
  ["Limits and confinement", [
    ["loop", "infinite loop", "while True:\n    pass", ""],
    ["memory", "memory bomb", 'blocks = []\nwhile True:\n    blocks.append(" " * 10_000_000)', ""],
    ["threads", "too many threads",
     'import threading, time\n\n# Small stacks: the thread limit, not memory, is what stops this.\n' +
     'threading.stack_size(256 * 1024)\nthreads = [threading.Thread(target=time.sleep, args=(1,)) for _ in range(100)]\n' +
     'for t in threads:\n    t.start()\nprint("started", len(threads), "threads")',
     ""],
    ["fork", "start a process", 'import subprocess\nprint(subprocess.run(["ls", "/"], capture_output=True))', ""],
    ["file", "file read attempt", 'print(open("/etc/passwd").read())', ""],
    ["network", "network attempt",
     'import socket\nsocket.create_connection(("127.0.0.1", 80), timeout=2)\nprint("connected")', ""],
  ]],
];

export const EXAMPLES = new Map(EXAMPLE_GROUPS.flatMap(([, list]) => list.map((e) => [e[0], e])));
