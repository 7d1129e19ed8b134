"""Process lineage: exec chains with exact argv and parent links, exits."""
import os
import re
import shutil
from atlib import PY, eq, record, run_tests, tmpdir


def test_exec_chain_bash_python_sh_cat():
    d = tmpdir()
    f = os.path.join(d, "file.txt")
    with open(f, "w") as fh:
        fh.write("hello\n")
    py_code = "import subprocess; subprocess.run(['sh', '-c', 'cat %s; true'], check=True)" % f
    bash_cmd = "%s -c \"%s\"; exit 0" % (PY, py_code)
    r = record(["bash", "-c", bash_cmd])
    eq(r.rc, 0, "exit status")
    sess = r.session()

    bash = r.one("exec", argv=["bash", "-c", bash_cmd])
    py = r.one("exec", argv=[PY, "-c", py_code])
    sh = r.one("exec", argv=["sh", "-c", "cat %s; true" % f])
    cat = r.one("exec", argv=["cat", f])
    for e in (bash, py, sh, cat):
        eq(e["session"], sess, "session of %s" % e["argv"][0])
        eq(e["argv_truncated"], False, "argv_truncated")
    eq(py["ppid"], bash["pid"], "python's parent is bash")
    eq(py["parent_start_ns"], bash["start_ns"], "python's parent identity")
    eq(sh["ppid"], py["pid"], "sh's parent is python")
    eq(cat["ppid"], sh["pid"], "cat's parent is sh")
    eq(cat["exe"], os.path.realpath("/usr/bin/cat"), "cat exe")
    eq(cat["filename"], "/usr/bin/cat", "cat filename as passed by sh's PATH lookup")
    eq(bash["cwd"], os.path.realpath(os.getcwd()), "cwd")
    # every exec'd process also exits, with its status
    eq(r.one("exit", pid=cat["pid"])["code"], 0, "cat exit code")
    eq(r.one("exit", pid=bash["pid"])["code"], 0, "bash exit code")
    # the cat read the file
    opens = [e for e in r.of("open", pid=cat["pid"]) if e["path"] == f]
    eq(len(opens), 1, "cat opened the file once")
    eq(opens[0]["access"], "read", "access")


def test_exit_status_and_signal_propagate():
    r = record(["bash", "-c", "exit 7"])
    eq(r.rc, 7, "agenttrail exits with the command's status")
    end = r.one("session_end")
    eq(end["exit_code"], 7, "session_end exit_code")
    r = record(["bash", "-c", "kill -TERM $$"])
    eq(r.rc, 128 + 15, "killed command gives 128+signal")
    ex = r.of("exit")[-1]
    eq(ex["signal"], 15, "exit signal")
    eq(ex["code"], None, "no exit code when killed")


def test_long_argv_is_kept_and_truncation_flagged():
    arg = "a" * 6000
    r = record(["/bin/echo", arg, "b" * 3000])
    e = r.one("exec", filename="/bin/echo")
    eq(e["argv"], ["/bin/echo", arg, "b" * 3000], "9 KiB of argv kept whole")
    eq(e["argv_truncated"], False, "not truncated")
    r = record(["/bin/echo"] + ["c" * 1000] * 20)
    e = r.one("exec", filename="/bin/echo")
    eq(e["argv_truncated"], True, "20 KiB argv flagged as truncated")
    eq(e["argv"][:5], ["/bin/echo"] + ["c" * 1000] * 4, "the start is kept")


def test_missing_command_reports_127():
    r = record(["/nonexistent/agenttrail-test-cmd"])
    eq(r.rc, 127, "status for a command that cannot run")
    if "cannot run /nonexistent/agenttrail-test-cmd" not in r.stderr:
        raise AssertionError("no clear error: %r" % r.stderr)


def exec_wakes(r):
    """(at once, not) from --stats' "exec records:" line."""
    m = re.search(r"exec records: (\d+) woke the reader at once, (\d+) did not", r.stderr)
    if not m:
        raise AssertionError("no exec records line in --stats: %r" % r.stderr[-2000:])
    return int(m.group(1)), int(m.group(2))


def stat_dev_is_kernel_dev(path):
    """Whether stat()'s device of path is its superblock's (mountinfo's): not
    on btrfs subvolumes or overlays over several filesystems, where the
    no-TLS cache's entries cannot name files the way the kernel does."""
    st = os.stat(path)
    real = os.path.realpath(path)
    best, dev = "", None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            mnt = parts[4]
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, dev = mnt, parts[2]
    return dev == "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))


def test_exec_wakes_reader_only_for_programs_not_looked_at():
    """An exec wakes the reader at once (for TLS uprobes) only when its
    program has not been looked at for TLS, or changed since."""
    d = tmpdir()
    mytrue = os.path.join(d, "mytrue")
    shutil.copy("/bin/true", mytrue)
    env = dict(os.environ, AGENTTRAIL_TLS_CACHE=os.path.join(d, "tls-cache"))
    loop = "for i in $(seq 40); do %s; done" % mytrue
    cold = record(["sh", "-c", loop], extra=["--stats"], env=env)
    eq(cold.rc, 0, "exit status")
    execs = len(cold.of("exec"))
    eq(execs, 42, "sh, seq and 40 execs of the copy")
    at_once, later = exec_wakes(cold)
    eq(at_once + later, execs, "every exec counted")
    if at_once < 1:
        raise AssertionError("cold cache: the first exec of sh must wake the reader")
    # the cache now holds sh, seq and the copy (no TLS library): nothing to do
    warm = record(["sh", "-c", loop], extra=["--stats"], env=env)
    progs = [shutil.which("sh"), shutil.which("seq"), mytrue]
    if all(stat_dev_is_kernel_dev(p) for p in progs):
        eq(exec_wakes(warm), (0, 42), "warm cache: no exec wakes the reader at once")
    else:
        # known from the first exec of each on (under the kernel's names)
        at_once, later = exec_wakes(warm)
        eq(at_once + later, 42, "every exec counted")
        if at_once > 10:
            raise AssertionError("warm cache: %d execs woke the reader at once" % at_once)
    # a changed program (its change time) is looked at again
    os.chmod(mytrue, 0o755)
    changed = record(["sh", "-c", loop], extra=["--stats"], env=env)
    at_once, later = exec_wakes(changed)
    eq(at_once + later, 42, "every exec counted")
    if not 1 <= at_once <= 40:
        raise AssertionError("changed copy: %d execs woke the reader at once" % at_once)
    # without TLS capture no exec needs the reader at once for its program
    env["AGENTTRAIL_TLS_CACHE"] = os.path.join(d, "other-cache")
    eq(exec_wakes(record(["sh", "-c", loop], extra=["--stats", "--no-tls"], env=env)),
       (0, 42), "--no-tls")


BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"


def bpf_line(r):
    m = re.search(r"^agenttrail BPF: (.*)$", r.stderr, re.M)
    if not m:
        raise AssertionError("no 'agenttrail BPF:' line in --stats:\n" + r.stderr[-2000:])
    return m.group(1)


def test_stats_count_program_time_when_the_kernel_does():
    """--stats reports the kernel's run time of agenttrail's programs while
    kernel.bpf_stats_enabled is 1, and says how to get it otherwise."""
    with open(BPF_STATS) as f:
        before = f.read().strip()
    loop = ["sh", "-c", "for i in $(seq 30); do cat /etc/hostname; done > /dev/null"]
    try:
        with open(BPF_STATS, "w") as f:
            f.write("1")
        on = record(loop, extra=["--stats"], db=False)
        with open(BPF_STATS, "w") as f:
            f.write("0")
        off = record(loop, extra=["--stats"], db=False)
    finally:
        with open(BPF_STATS, "w") as f:
            f.write(before)
    eq(on.rc, 0, "exit status")
    m = re.fullmatch(r"(\d+) program runs, ([0-9.]+) s \(counted while "
                     r"kernel.bpf_stats_enabled is 1\)", bpf_line(on))
    if not m:
        raise AssertionError("unexpected BPF line: " + bpf_line(on))
    opens = len(on.of("open"))
    if opens < 30 or int(m.group(1)) < opens or float(m.group(2)) <= 0:
        raise AssertionError("%s program runs, %s s for %d opens" % (m.group(1), m.group(2), opens))
    eq(bpf_line(off), "not counted (sysctl kernel.bpf_stats_enabled=1 counts it)",
       "without the sysctl")


def test_exec_in_a_cgroup_gone_at_once_is_named():
    """An exec in a cgroup not named yet wakes the reader at once, so that a
    cgroup removed right after its process exits is still named."""
    cg_root = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                cg_root = left.split()[4]
    if cg_root is None:
        raise AssertionError("no cgroup2 mount in /proc/self/mountinfo")
    d = tmpdir()
    env = dict(os.environ, AGENTTRAIL_TLS_CACHE=os.path.join(d, "tls-cache"))
    # python moves a child into a new cgroup, which execs /bin/true, then
    # waits 20 ms (no exec: nothing else wakes the reader) and removes it
    script = ("import os, subprocess, sys, time\n"
              "cg = sys.argv[1]\n"
              "os.mkdir(cg)\n"
              "subprocess.run(['sh', '-c', 'echo $$ > %s/cgroup.procs && exec /bin/true' % cg],"
              " check=True)\n"
              "time.sleep(0.02)\n"
              "os.rmdir(cg)\n")
    names = []
    for turn in ("warm-up", "measured"):
        name = "at-e2e-short-%d-%s" % (os.getpid(), turn)
        cg = os.path.join(cg_root, name)
        try:
            # the warm-up fills the cache with python, sh and true: in the
            # measured turn only the new cgroup can make an exec wake the reader
            r = record([PY, "-c", script, cg], extra=["--stats"], env=env)
        finally:
            if os.path.isdir(cg):
                os.rmdir(cg)
        eq(r.rc, 0, "exit status: %s" % r.stderr[-500:])
        execs = [e for e in r.of("exec") if e["filename"] == "/bin/true"]
        eq(len(execs), 1, "one exec of /bin/true")
        names.append((execs[0]["cgroup"], "/" + name))
    eq(names[1][0], names[1][1], "the cgroup it ran in, removed since")


run_tests(globals())
