"""The workloads: their table (N, unit, how the report shows them), building
bench/loops, the TLS server of `tls`, the project copy of `build`, and the
command of one sample of each."""

import os
import shutil
import socket
import subprocess
import tarfile
import time

from .common import BENCH, REPO, fail
from .procs import MANAGED

# name, N of a full run, N of --quick, unit of one operation, and how the
# report shows a time per operation (unit label, ns per unit)
WORKLOADS = [
    ("open", 200000, 2000, "op", "ns", 1),
    ("stat", 200000, 2000, "op", "ns", 1),
    ("write", 1000000, 20000, "op", "ns", 1),
    ("forkexec", 1000, 50, "op", "ns", 1),
    ("unlink", 20000, 500, "op", "ns", 1),
    ("connect", 10000, 500, "op", "ns", 1),
    ("tls", 1024, 32, "MiB", "ms", 1e6),     # MiB downloaded over HTTPS
    ("build", 3, 1, "build", "s", 1e9),      # clean builds per sample
    ("agent", 20, 2, "step", "ms", 1e6),     # steps of the agent session
]
WL = {w[0]: {"full": w[1], "quick": w[2], "op": w[3], "show": w[4], "scale": w[5]}
      for w in WORKLOADS}
# A build takes 10 to 20 s bare: fewer rounds of it in a full run.
MAX_ROUNDS = {"build": 3}
# --quick builds these few objects instead of the whole project
QUICK_BUILD_TARGETS = ["src/decode/dns.o", "src/decode/http1.o", "src/decode/sse.o",
                       "src/decode/redact.o", "src/model/pidset.o", "src/model/flows.o"]


def build_loops(build_dir):
    out_dir = os.path.join(build_dir, "bench")
    r = subprocess.run(["make", "-s", "-C", BENCH, "OUT=" + out_dir],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("building loops failed:\n" + r.stdout + r.stderr)
    return os.path.join(out_dir, "loops")


def command(wl, n, loops, tls, build, agent_dir):
    """The command of one sample of workload wl, N = n; tls and build are
    the TlsServer and BuildTree of the run (None if it has no such workload)."""
    if wl == "tls":
        return tls.cmd(n)
    if wl == "build":
        return build.cmd(n)
    if wl == "agent":
        return ["bash", os.path.join(BENCH, "agent.sh"), agent_dir, str(n)]
    return [loops, wl, str(n)]


# --- the TLS workload ------------------------------------------------------------

TLS_CLIENT = r"""
# bench tls client: curl downloads $2 MiB from $1; prints ns per MiB
t=$(curl -sS --http1.1 --cacert "$3" -o /dev/null -w '%{time_total} %{size_download}' "$1") || exit 1
set -- $t "$2"
awk -v t="$1" -v got="$2" -v mib="$3" 'BEGIN {
    if (got != mib * 1048576) { print "short download: " got > "/dev/stderr"; exit 1 }
    printf "ns_per_op=%.1f\n", t * 1e9 / mib }'
"""


class TlsServer:
    """openssl s_server -WWW serving a sparse N MiB file, outside every
    session. One per bench run."""

    def __init__(self, tmpdir, mib):
        self.dir = os.path.join(tmpdir, "tls")
        os.makedirs(os.path.join(self.dir, "www"), exist_ok=True)
        key, self.cert = os.path.join(self.dir, "key.pem"), os.path.join(self.dir, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", self.cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        with open(os.path.join(self.dir, "www", "blob"), "wb") as f:
            f.truncate(mib << 20)
        self.client = os.path.join(self.dir, "client.sh")
        with open(self.client, "w") as f:
            f.write(TLS_CLIENT)
        self.port = free_port()
        self.p = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % self.port,
                                   "-cert", self.cert, "-key", key, "-WWW", "-quiet"],
                                  cwd=os.path.join(self.dir, "www"), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        MANAGED.add(self.p.pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        fail("openssl s_server did not start")

    def cmd(self, mib):
        return ["sh", self.client, "https://127.0.0.1:%d/blob" % self.port, str(mib), self.cert]

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(timeout=10)
        MANAGED.discard(self.p.pid)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- the build workload ------------------------------------------------------------

class BuildTree:
    """A copy of the project's source (git HEAD, or the work tree if git has
    none) configured once into a build directory; bench/build.sh then
    cleans and builds it, N times per sample."""

    def __init__(self, tmpdir, quick):
        self.src = os.path.join(tmpdir, "build-src")
        self.dir = os.path.join(tmpdir, "build-dir")
        os.makedirs(self.src)
        t0 = time.monotonic()
        self.source = self._copy()
        r = subprocess.run(["cmake", "-S", self.src, "-B", self.dir, "-G", "Unix Makefiles",
                            "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("configuring the build workload failed:\n" + (r.stdout + r.stderr)[-3000:])
        self.targets = QUICK_BUILD_TARGETS if quick else []
        self.configure_s = round(time.monotonic() - t0, 2)

    def _copy(self):
        try:
            rev = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
                                 text=True, check=True).stdout.strip()
            archive = subprocess.run(["git", "-C", REPO, "archive", "--format=tar", "HEAD"],
                                     capture_output=True, check=True).stdout
            tar = os.path.join(self.src, "..", "build-src.tar")
            with open(tar, "wb") as f:
                f.write(archive)
            with tarfile.open(tar) as t:
                try:
                    t.extractall(self.src, filter="data")
                except TypeError:  # Python without extraction filters
                    t.extractall(self.src)
            os.unlink(tar)
            return "git HEAD %s" % rev[:12]
        except (OSError, subprocess.CalledProcessError, tarfile.TarError):
            shutil.rmtree(self.src)
            shutil.copytree(REPO, self.src, symlinks=True,
                            ignore=shutil.ignore_patterns("build", "build-*", ".git"))
            return "work tree %s" % REPO

    def cmd(self, n):
        return ["bash", os.path.join(BENCH, "build.sh"), self.dir, str(n)] + self.targets
