"""unlink and rename rules on the host kernel (no BPF-LSM here): the command
`agenttrail run` starts gets a seccomp filter that hands every unlink,
unlinkat, rmdir, rename, renameat and renameat2 of its tree to agenttrail,
which resolves the names as the caller would, asks the rules, and either
refuses (EPERM) or does the call itself with the caller's credentials.

Each workload prints "NAME STATUS" lines; the same script is also run
without agenttrail where the answer must not change.
"""
import os
import shutil
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.dirname(__file__))
import test_guard as tg  # noqa: E402
from atlib import PY, eq, run_tests, wait_for  # noqa: E402

EPERM = 1

KEEP = """
    version: 1
    rules:
      - name: keep
        on: [unlink, rename]
        target:
          paths: ["{workspace}/keep/**", "{workspace}/jail/keep/**"]
        effect: block
        reason: "{target} is kept"
      - name: tripwire
        on: unlink
        target:
          paths: ["{workspace}/tripwire"]
        effect: kill
        reason: "{target} may not go"
"""

# renameat2 and unlinkat with directory descriptors, straight from libc
CALLS = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
def report(name, rc):
    e = ctypes.get_errno()
    print(name, 0 if rc == 0 else "errno=%d" % e, flush=True)
def renameat2(od, o, nd, n, flags):
    return libc.syscall(316, od, o.encode(), nd, n.encode(), flags)
op = sys.argv[1]
if op == "unlinkat":          # DIR NAME LABEL
    fd = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)
    report(sys.argv[4], libc.unlinkat(fd, sys.argv[3].encode(), 0))
elif op == "unlinkat-opath":  # DIR NAME LABEL: the directory as an O_PATH descriptor
    fd = os.open(sys.argv[2], os.O_PATH | os.O_DIRECTORY)
    report(sys.argv[4], libc.unlinkat(fd, sys.argv[3].encode(), 0))
elif op == "renameat2":       # OLD NEW FLAGS LABEL
    report(sys.argv[5], renameat2(AT_FDCWD, sys.argv[2], AT_FDCWD, sys.argv[3],
                                  int(sys.argv[4])))
elif op == "procself-rename":  # DIR NAME NEW LABEL: DIR/NAME named through /proc/self/fd
    fd = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)
    old = "/proc/self/fd/%d/%s" % (fd, sys.argv[3])
    report(sys.argv[5], libc.rename(old.encode(), sys.argv[4].encode()))
elif op == "threadself-unlink":  # DIR NAME LABEL: through /proc/thread-self/fd
    fd = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)
    report(sys.argv[4], libc.unlink(("/proc/thread-self/fd/%d/%s" % (fd, sys.argv[3])).encode()))
elif op == "badfd":           # NAME LABEL: a descriptor that is not open
    report(sys.argv[3], libc.unlinkat(977, sys.argv[2].encode(), 0))
elif op == "fault":           # LABEL: a path pointer into nothing
    report(sys.argv[2], libc.syscall(87, ctypes.c_void_p(8)))
"""


def workspace():
    d, home = tg.make_home()
    ws = os.path.join(d, "ws")
    for sub in ("keep/sub", "free", "jail/bin", "jail/keep"):
        os.makedirs(os.path.join(ws, sub))
    for name in ("keep/a", "keep/b", "keep/c", "keep/sub/x", "free/a", "free/b", "free/c", "free/d",
                 "tripwire", "jail/keep/j"):
        with open(os.path.join(ws, name), "w") as f:
            f.write(name + "\n")
    os.symlink(os.path.join(ws, "keep"), os.path.join(ws, "to-keep"))
    with open(os.path.join(d, "calls.py"), "w") as f:
        f.write(CALLS)
    return d, home, ws


def run_both(script, tmpl):
    """The script run bare and under agenttrail, each in a fresh workspace:
    (bare Run-like results, guarded Run, workspace of the guarded run)."""
    bd, _, bws = workspace()
    bare = subprocess.run(["sh", "-c", script % {"ws": bws, "c": PY + " " + bd + "/calls.py"}],
                          cwd=bws, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    d, home, ws = workspace()
    r = tg.guard_run(tmpl, script % {"ws": ws, "c": PY + " " + d + "/calls.py"}, home, d,
                     extra=("--stats",), cwd=ws)
    return tg.Run(bare.returncode, bare.stdout.decode(), bare.stderr.decode(), []), r, ws


def test_refused_before_they_happen_and_done_as_asked_otherwise():
    script = """
        rm keep/a; echo "rm-kept $?"
        rm free/a; echo "rm-free $?"
        rm -r keep/sub 2>/dev/null; echo "rm-r-kept $?"
        rmdir keep/sub/ 2>/dev/null; echo "rmdir-slash $?"
        mv keep/b free/b2; echo "mv-out $?"
        mv free/b keep/b2; echo "mv-in $?"
        mv free/c free/c2; echo "mv-free $?"
        rm to-keep/c; echo "through-symlink $?"
        cd free && rm ../keep/c; echo "dotdot $?"; cd ..
        rm %(ws)s/keep/c; echo "absolute $?"
        rm to-keep; echo "the-symlink-itself $?"
        rm free/nothing 2>/dev/null; echo "missing $?"
        rm keep/nothing 2>/dev/null; echo "missing-kept $?"
        %(c)s unlinkat keep c unlinkat-kept
        %(c)s unlinkat-opath keep c unlinkat-opath-kept
        %(c)s unlinkat free c2 unlinkat-free
        %(c)s renameat2 free/b keep/x 1 noreplace-in
        %(c)s renameat2 keep/b free/b 2 exchange-out
        %(c)s procself-rename keep a free/a9 procself-kept
        %(c)s threadself-unlink free d threadself-free
        %(c)s badfd name badfd
        %(c)s fault fault
    """
    bare, r, ws = run_both(script, KEEP)
    # the names that exist, then the calls' own errors, as bare
    for name in ("rm-free", "mv-free", "the-symlink-itself", "missing", "missing-kept",
                 "unlinkat-free", "threadself-free", "badfd", "fault"):
        r.expect(name, bare.results.get(name))
    for name in ("rm-kept", "rm-r-kept", "rmdir-slash", "mv-out", "mv-in", "through-symlink",
                 "dotdot", "absolute"):
        r.expect(name, "1")
    for name in ("unlinkat-kept", "unlinkat-opath-kept", "noreplace-in", "exchange-out",
                 "procself-kept"):
        r.expect(name, "errno=%d" % EPERM)
    eq(bare.results.get("rm-kept"), "0", "bare rm")
    eq(sorted(os.listdir(os.path.join(ws, "keep"))), ["a", "b", "c", "sub"], "keep/")
    eq(os.listdir(os.path.join(ws, "keep", "sub")), ["x"], "keep/sub/")
    # b stays (its renames into keep/ were refused); d went through
    # /proc/thread-self/fd: the caller's descriptor, not ours
    eq(sorted(os.listdir(os.path.join(ws, "free"))), ["b"], "free/")
    eq(bare.results.get("threadself-free"), "0", "bare unlink through /proc/thread-self")
    v = r.violations(rule="keep")
    assert len(v) >= 12, r.events
    for e in v:
        eq((e["mechanism"], e["effect"], e["errno"]), ("seccomp", "block", EPERM), "violation")
        assert e["target"].startswith(os.path.join(ws, "keep")), e
    targets = {e["target"] for e in v}
    for t in ("keep/a", "keep/b", "keep/c", "keep/sub", "keep/b2", "keep/x"):
        assert os.path.join(ws, t) in targets, (t, targets)
    # the trail keeps the caller's own calls, with the answers they got
    unl = [e for e in r.events if e.get("type") == "unlink"]
    assert any(e["path"] == os.path.join(ws, "keep/a") and e["errno"] == "EPERM" for e in unl), unl
    assert any(e["path"] == os.path.join(ws, "free/a") and e["ret"] == 0 for e in unl), unl
    assert "unlink/rename by seccomp:" in r.stderr, r.stderr


def test_the_callers_credentials_decide_as_the_kernel_would():
    """A caller that is not root: agenttrail acts with its file-system
    uid, gid, groups and capabilities, so every answer is the kernel's."""
    nobody = "setpriv --reuid 65534 --regid 65534 --clear-groups"
    script = """
        mkdir -p rootdir sticky own noexec/inner
        touch rootdir/f sticky/rootfile own/f own/g noexec/inner/f
        chmod 1777 sticky; chown -R 65534:65534 own noexec/inner; chmod 700 noexec
        %(n)s rm -f rootdir/f 2>&1; echo "root-dir $?"
        %(n)s rm -f sticky/rootfile 2>&1; echo "sticky $?"
        %(n)s rm -f own/f 2>&1; echo "own $?"
        %(n)s mv own/g own/h 2>&1; echo "own-mv $?"
        %(n)s rm -f noexec/inner/f 2>&1; echo "no-search $?"
        %(n)s mv sticky rootdir/x 2>&1; echo "mv-dir $?"
        %(n)s rm -f keep/a 2>&1; echo "kept $?"
        ls own | tr '\\n' , | sed 's/^/own-left /'; echo
    """.replace("%(n)s", nobody)
    bare, r, _ = run_both(script, KEEP)
    for name in ("root-dir", "sticky", "own", "own-mv", "no-search", "mv-dir", "own-left"):
        r.expect(name, bare.results.get(name))
    eq((bare.results.get("own"), bare.results.get("root-dir")), ("0", "1"), "bare")
    r.expect("kept", "1")
    # the error texts, too (EACCES here, EPERM there, as bare), but for
    # the refused one
    def errors(out):
        return [l for l in out.splitlines() if l.startswith(("rm:", "mv:")) and "keep/" not in l]
    eq(errors(r.out), errors(bare.out), "error messages")
    assert len(errors(bare.out)) >= 4, bare.out


def test_a_thread_rewriting_the_name_cannot_slip_through():
    """The rules see the name agenttrail read, and agenttrail removes that
    name, not what the buffer holds by the time the kernel would look."""
    d, home, ws = workspace()
    race = r"""
import ctypes, os, threading
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
kept, free = b"keep/a", b"free/zz"
stop = False
def flip():
    while not stop:
        ctypes.memmove(buf, kept + b"\0", len(kept) + 1)
        ctypes.memmove(buf, free + b"\0", len(free) + 1)
t = threading.Thread(target=flip); t.start()
gone = 0
for i in range(3000):
    open("free/zz", "w").close()
    if libc.unlink(buf) == 0 and not os.path.exists("keep/a"):
        gone = 1
        break
stop = True; t.join()
print("kept-file", "gone" if not os.path.exists("keep/a") else "there")
"""
    with open(os.path.join(d, "race.py"), "w") as f:
        f.write(race)
    r = tg.guard_run(KEEP, "%s %s/race.py" % (PY, d), home, d, cwd=ws, timeout=120)
    r.expect("kept-file", "there")
    assert r.violations(rule="keep", mechanism="seccomp"), r.stderr


def test_kill_effect_stops_the_caller_before_the_unlink():
    d, home, ws = workspace()
    r = tg.guard_run(KEEP, "rm tripwire; echo \"rm $?\"", home, d, cwd=ws)
    r.expect("rm", "137")
    assert os.path.exists(os.path.join(ws, "tripwire"))
    v = r.violations(rule="tripwire")
    eq([(e["effect"], e["mechanism"]) for e in v], [("kill", "seccomp")], "the kill")


def test_a_chroot_resolves_names_inside_its_root():
    """Absolute names and absolute symlinks of a chrooted caller start at
    its root; the rules see the real paths."""
    d, home, ws = workspace()
    jail = os.path.join(ws, "jail")
    shutil.copy("/bin/busybox", os.path.join(jail, "bin", "busybox"))
    os.symlink("/keep", os.path.join(jail, "lnk"))           # absolute, inside the jail
    with open(os.path.join(jail, "free"), "w") as f:
        f.write("x\n")
    r = tg.guard_run(KEEP, """
        chroot jail /bin/busybox rm /keep/j 2>/dev/null; echo "abs $?"
        chroot jail /bin/busybox rm /lnk/j 2>/dev/null; echo "abs-link $?"
        chroot jail /bin/busybox sh -c 'cd /keep && /bin/busybox rm ../../../keep/j' 2>/dev/null; echo "dotdot-at-root $?"
        chroot jail /bin/busybox rm /free; echo "free $?"
    """, home, d, cwd=ws)
    for name in ("abs", "abs-link", "dotdot-at-root"):
        r.expect(name, "1")
    r.expect("free", "0")
    assert os.path.exists(os.path.join(jail, "keep", "j"))
    assert not os.path.exists(os.path.join(jail, "free"))
    # one refusal each: a name resolved outside the jail would be missing
    # (ENOENT, no violation) instead
    eq([e["target"] for e in r.violations(rule="keep")], [os.path.join(jail, "keep", "j")] * 3,
       "targets")


def test_another_user_namespace_is_observed_not_refused():
    """Credentials in another user namespace mean something else to the
    kernel: such a caller is let through and its call checked after the
    fact, as without this backend (a documented limit)."""
    d, home, ws = workspace()
    r = tg.guard_run(KEEP, """
        unshare --user --map-root-user rm keep/a; echo "userns $?"
    """, home, d, cwd=ws)
    r.expect("userns", "0")
    v = r.violations(rule="keep")
    eq([(e["mechanism"], e.get("enforced")) for e in v], [("tracepoint", False)], "observed")


def test_processes_left_behind_keep_working_after_the_end():
    """A daemon of the command outlives the recording: its unlinks are
    answered (let through) by a small process agenttrail leaves behind,
    never failed with ENOSYS; that process ends with the last of them."""
    d, home, ws = workspace()
    done = os.path.join(d, "done")
    r = tg.guard_run(KEEP, """
        setsid sh -c 'sleep 3; rm keep/b; echo $? > %s' </dev/null >/dev/null 2>&1 &
        echo "started 1"
    """ % done, home, d, cwd=ws)
    r.expect("started", "1")
    wait_for(lambda: os.path.exists(done) and open(done).read().strip(), 20, "the daemon's rm")
    eq(open(done).read().strip(), "0", "the daemon's rm after the recording ended")
    assert not os.path.exists(os.path.join(ws, "keep", "b"))
    # the answering process is gone with the daemon
    def left():
        out = subprocess.run(["pgrep", "-f", "-x", ".*agenttrail run --policy %s.*" %
                              os.path.join(d, "policy.yaml")], stdout=subprocess.PIPE)
        return not out.stdout.strip()
    wait_for(left, 10, "the answering process to end")


def test_processes_left_behind_keep_working_after_agenttrail_is_killed():
    """Even a SIGKILLed agenttrail leaves the answerer behind (started with
    the backend, not at the end)."""
    d, home, ws = workspace()
    started, done = os.path.join(d, "started"), os.path.join(d, "done")
    pol = os.path.join(d, "policy.yaml")
    with open(pol, "w") as f:
        f.write(textwrap.dedent(KEEP))
    p = subprocess.Popen([tg.AGENTTRAIL, "run", "--policy", pol, "--quiet", "--no-db", "--",
                          "sh", "-c", "setsid sh -c 'touch %s; sleep 3; rm keep/b; echo $? > %s' "
                          "</dev/null >/dev/null 2>&1 & sleep 6" % (started, done)],
                         cwd=ws, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, HOME=home))
    # the daemon runs (agenttrail has started it, filter and all) before
    # agenttrail is killed
    wait_for(lambda: os.path.exists(started), 60, "the daemon to start")
    p.kill()
    p.wait(timeout=10)
    wait_for(lambda: os.path.exists(done) and open(done).read().strip(), 20, "the daemon's rm")
    eq(open(done).read().strip(), "0", "the daemon's rm after agenttrail was killed")
    assert not os.path.exists(os.path.join(ws, "keep", "b"))


if __name__ == "__main__":
    tg.setup_ns()
    try:
        run_tests(globals())
    finally:
        tg.teardown_ns()
