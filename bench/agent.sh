#!/bin/bash
# bench/agent.sh DIR N - an agent-like mixed session, the `agent` workload of
# bench/run: what a coding agent does in a small repository, N times over.
#
# It creates a git repository with a small Python package in DIR/repo (DIR is
# removed first), then runs N steps.  Each step looks around (ls, git status,
# grep, cat, find, wc), edits two files with python3 (a new function and its
# test), runs the test suite (python3 -m unittest), reviews (git diff, sed),
# commits, and reads the log: 15 commands, so N=20 is about 300 operations.
# Everything is deterministic: fixed contents, fixed author and dates, no
# global git configuration, no gc.
#
# The last line on stdout is "ns_per_op=X": wall time (bash's EPOCHREALTIME)
# from `git init` to the last commit, divided by N, i.e. ns per step.  Output
# of the commands goes to /dev/null; a failing command fails the run (exit 1).
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]] || [[ $1 != /* ]]; then
	echo "usage: agent.sh /ABSOLUTE/DIR N" >&2
	exit 2
fi
dir=$1
n=$2

export LC_ALL=C TZ=UTC HOME=$dir/home PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@bench.invalid
export GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@bench.invalid
export GIT_AUTHOR_DATE="2026-01-01T00:00:00+0000" GIT_COMMITTER_DATE="2026-01-01T00:00:00+0000"

rm -rf "$dir"
mkdir -p "$dir/home" "$dir/repo" "$dir/tools"

# The agent's edit tool: adds function f<i> to calc/core.py and a test for it
# to tests/test_core.py, rewriting both files (read, modify, write back).
cat >"$dir/tools/edit.py" <<'EOF'
import re
import sys

i = int(sys.argv[1])
with open("calc/core.py") as f:
    core = f.read()
core = core.rstrip("\n") + "\n\n\ndef f%d(x):\n    \"\"\"Step %d.\"\"\"\n    return x * %d + %d\n" % (i, i, i, i % 7)
core = re.sub(r"^VERSION = \d+$", "VERSION = %d" % i, core, flags=re.M)
with open("calc/core.py", "w") as f:
    f.write(core)
with open("tests/test_core.py") as f:
    test = f.read()
test = test.replace("    # more tests\n",
                    "    def test_f%d(self):\n        self.assertEqual(core.f%d(2), %d)\n\n    # more tests\n"
                    % (i, i, 2 * i + i % 7))
with open("tests/test_core.py", "w") as f:
    f.write(test)
EOF

cd "$dir/repo"
t0=$EPOCHREALTIME

git init -q -b main .
git config gc.auto 0
git config maintenance.auto false
mkdir -p calc tests
printf '# calc\n\nA tiny package that an agent extends, one function per step.\n' >README.md
printf 'VERSION = 0\n\n\ndef add(a, b):\n    return a + b\n' >calc/core.py
: >calc/__init__.py
: >tests/__init__.py
cat >tests/test_core.py <<'EOF'
import unittest

from calc import core


class CoreTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(core.add(2, 3), 5)

    # more tests


if __name__ == "__main__":
    unittest.main()
EOF
git add -A
git commit -q -m "initial import"

for ((i = 1; i <= n; i++)); do
	ls -la . calc tests >/dev/null                       # look around
	git status --porcelain >/dev/null
	grep -rn "def " --include='*.py' . >/dev/null
	cat calc/core.py tests/test_core.py >/dev/null
	python3 "$dir/tools/edit.py" "$i"                    # edit two files
	sed -n '1,40p' calc/core.py >/dev/null
	python3 -m unittest discover -q -s tests -t . >/dev/null 2>&1   # run the tests
	git diff --stat >/dev/null                           # review
	git diff >/dev/null
	git add -A
	git commit -q -m "step $i: add f$i"
	git log --oneline -n 5 >/dev/null
	find . -name '*.py' -not -path './.git/*' >/dev/null
	wc -l calc/core.py tests/test_core.py >/dev/null
	head -c 512 README.md >/dev/null
done

t1=$EPOCHREALTIME
# the last step's tests must pass and every step must be committed
python3 -m unittest discover -q -s tests -t . >/dev/null 2>&1
[ "$(git rev-list --count HEAD)" -eq $((n + 1)) ]
awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "ns_per_op=%.1f\n", (b - a) * 1e9 / n }'
