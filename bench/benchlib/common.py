"""What every module of bench/run needs: where the repository is, how the
harness reports progress and gives up, and reading a one-line file."""

import os
import sys

# This file is bench/benchlib/common.py: the repository is three levels up.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(REPO, "bench")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fail(msg):
    log("bench/run: " + msg)
    sys.exit(1)


def read_first(path, default="unknown"):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default
