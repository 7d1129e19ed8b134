"""Session scoping in the kernel: daemons, cgroups, outsiders, --pid, --comm, SIGINT."""
import json
import os
import signal
import sqlite3
import subprocess
import time
from atlib import (PY, eq, read_jsonl, record, run_tests, start_record, tmpdir, wait_for,
                   wait_loaded)

DAEMON = """
import os, sys, time
d = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    time.sleep(0.8)          # the root has exited by now
    with open(os.path.join(d, 'daemon-was-here'), 'w') as f:
        f.write(str(os.getpid()))
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_double_forked_setsid_daemon_stays_tracked():
    d = tmpdir()
    r = record([PY, "-c", DAEMON, d], extra=["--follow"])
    eq(r.rc, 0, "status")
    marker = os.path.join(d, "daemon-was-here")
    with open(marker) as f:
        daemon_pid = int(f.read())
    w = r.one("open", path=marker)
    eq(w["pid"], daemon_pid, "the daemon's write is recorded")
    eq(w["session"], r.session(), "in the session")
    eq(w["access"], "write", "access")
    ex = r.one("exit", pid=daemon_pid)
    eq(ex["code"], 0, "the daemon's exit is recorded")
    # without --follow, recording ends with the root's tree: the detached
    # daemon does not hold it open, and its later write is not recorded
    d2 = tmpdir()
    r2 = record([PY, "-c", DAEMON, d2])
    eq(r2.rc, 0, "status")
    eq(len(r2.of("session_end")), 1, "session ended")
    wait_for(lambda: os.path.exists(os.path.join(d2, "daemon-was-here")), what="daemon write")
    eq(r2.of("open", path=os.path.join(d2, "daemon-was-here")), [], "no event after the end")


def test_leaving_the_session_cgroup_does_not_end_tracking():
    d = tmpdir()
    cg2 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if " - cgroup2 " in line:
                cg2 = line.split()[4]
    escape = os.path.join(cg2, "at-e2e-escape-%d" % os.getpid())
    os.makedirs(escape, exist_ok=True)
    marker = os.path.join(d, "after-escape")
    script = ("import os\n"
              "with open(%r, 'w') as f: f.write(str(os.getpid()))\n"
              "with open(%r, 'w') as f: f.write('x')\n"
              % (os.path.join(escape, "cgroup.procs"), marker))
    try:
        r = record(["sh", "-c", "%s -c \"$0\"; true" % PY, script])
    finally:
        os.rmdir(escape)
    eq(r.rc, 0, "status")
    start = r.one("session_start")
    moved = r.one("open", path=os.path.join(escape, "cgroup.procs"))
    w = r.one("open", path=marker)
    eq(w["pid"], moved["pid"], "same process")
    eq(w["session"], start["session"], "still in the session after leaving its cgroup")


def test_process_moved_into_session_cgroup_joins():
    d = tmpdir()
    go = os.path.join(d, "go")
    marker = os.path.join(d, "joined")
    # an outsider that waits, then writes the marker
    outsider = subprocess.Popen([PY, "-c",
                                 "import os, time\n"
                                 "while not os.path.exists(%r): time.sleep(0.02)\n"
                                 "open(%r, 'w').write('j')\n" % (go, marker)])
    p, _, jl, _ = start_record([PY, "-c", "import time, os\n"
                                "while not os.path.exists(%r): time.sleep(0.02)\n" % marker])
    try:
        wait_for(lambda: os.path.exists(jl) and any(
            e["type"] == "session_start" for e in read_jsonl(jl)), what="session start")
        start = [e for e in read_jsonl(jl) if e["type"] == "session_start"][0]
        with open(os.path.join(start["cgroup"], "cgroup.procs"), "w") as f:
            f.write(str(outsider.pid))
        open(go, "w").close()
        outsider.wait(timeout=20)
        p.wait(timeout=30)
    finally:
        if outsider.poll() is None:
            outsider.kill()
        if p.poll() is None:
            p.kill()
    ev = [e for e in read_jsonl(jl) if e["type"] == "open" and e.get("path") == marker]
    eq(len(ev), 1, "the joined process's write is recorded")
    eq(ev[0]["pid"], outsider.pid, "by the outsider")
    eq(ev[0]["session"], start["session"], "in the session")


BUSY = """
import os, subprocess, sys, time
marker = sys.argv[1]
end = time.time() + float(sys.argv[2])
while time.time() < end:
    with open(marker, 'w') as f:
        f.write('busy')
    subprocess.run(['/bin/true', marker])
"""


def test_busy_workload_outside_the_session_produces_zero_events():
    d = tmpdir()
    marker = os.path.join(d, "outside-marker")
    busy = subprocess.Popen([PY, "-c", BUSY, marker, "30"])
    try:
        wait_for(lambda: os.path.exists(marker), what="busy workload")
        r = record(["sh", "-c", "sleep 1; cat /etc/hostname >/dev/null"])
    finally:
        busy.kill()
        busy.wait()
    eq(r.rc, 0, "status")
    sess = r.session()
    pids = {e["pid"] for e in r.events if e["type"] in ("exec", "fork")}
    if busy.pid in pids:
        raise AssertionError("the outside workload was recorded")
    for e in r.events:
        eq(e["session"], sess, "every event belongs to the session")
        blob = json.dumps(e)
        if marker in blob:
            raise AssertionError("an outside event leaked: %s" % blob)
        if e["type"] not in ("session_start", "session_end"):
            if e["pid"] not in pids and e["pid"] != r.one("session_start")["root_pid"]:
                raise AssertionError("event from a process not in the tree: %s" % blob)
    eq(len(r.of("exec")), 3, "sh, sleep, cat and nothing else")


def test_sigint_mid_session_keeps_every_event():
    d = tmpdir()
    loop = ("import os, sys, time\n"
            "i = 0\n"
            "while True:\n"
            "    open(os.path.join(sys.argv[1], 'm%d' % i), 'w').close()\n"
            "    i += 1\n"
            "    time.sleep(0.003)\n")
    p, _, jl, db = start_record([PY, "-c", loop, d])
    wait_for(lambda: len(os.listdir(d)) > 200, what="workload progress")
    p.send_signal(signal.SIGINT)
    p.wait(timeout=30)
    eq(p.returncode, 128 + signal.SIGINT, "the command got the signal and its status is passed on")
    made = {os.path.join(d, f) for f in os.listdir(d)}
    con = sqlite3.connect(db)
    eq(con.execute("PRAGMA integrity_check").fetchone()[0], "ok", "database integrity")
    recorded = {row[0] for row in con.execute(
        "SELECT path FROM files WHERE op = 'open' AND access = 'write'")}
    missing = made - recorded
    eq(sorted(missing), [], "every file the workload created has its open recorded")
    sess = con.execute("SELECT ended_ns, exit_signal FROM sessions").fetchall()
    eq(len(sess), 1, "one session")
    if sess[0][0] is None:
        raise AssertionError("session not closed in the store")
    eq(sess[0][1], signal.SIGINT, "exit signal stored")
    n_db = con.execute("SELECT count(*) FROM events").fetchone()[0]
    eq(n_db, len(read_jsonl(jl)), "store and JSONL hold the same events")
    # the spans find every event of the session, each once (schema 5)
    eq(con.execute("SELECT sum(events) FROM event_spans").fetchone()[0],
       n_db, "the spans count every stored event")
    eq(con.execute("SELECT count(*) FROM session_events").fetchone()[0], n_db,
       "session_events reads every stored event once")
    con.close()


def test_attach_to_running_pid_and_descendants():
    d = tmpdir()
    with open(os.path.join(d, "file"), "w") as f:
        f.write("f")
    target = subprocess.Popen(["bash", "-c",
                               "while [ ! -e %s/go ]; do sleep 0.05; done; "
                               "cat %s/file >/dev/null; sh -c 'echo hi > %s/out'; true" % (d, d, d)])
    p, pd, jl, _ = start_record(extra=["--pid", str(target.pid)])
    try:
        wait_loaded(pd)
        time.sleep(0.3)
        open(os.path.join(d, "go"), "w").close()
        target.wait(timeout=20)
        p.wait(timeout=30)   # ends by itself when the tree is gone
    finally:
        if p.poll() is None:
            p.kill()
    eq(p.returncode, 0, "status")
    ev = read_jsonl(jl)
    start = [e for e in ev if e["type"] == "session_start"][0]
    eq(start["mode"], "pid", "mode")
    eq(start["root_pid"], target.pid, "root")
    cat = [e for e in ev if e["type"] == "exec" and e["argv"] == ["cat", d + "/file"]]
    eq(len(cat), 1, "cat exec recorded")
    eq(cat[0]["ppid"], target.pid, "child of the attached process")
    out = [e for e in ev if e["type"] == "open" and e.get("path") == d + "/out"]
    eq(len(out), 1, "grandchild's write recorded")
    eq(out[0]["access"], "write", "access")


def test_comm_match_starts_sessions():
    d = tmpdir()
    probe = os.path.join(d, "at-comm-probe")
    os.symlink("/usr/bin/cat", probe)
    p, pd, jl, _ = start_record(extra=["--comm", "at-comm-probe"])
    try:
        wait_loaded(pd)
        for _ in range(2):
            subprocess.run([probe, "/etc/hostname"], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL, check=True)
        time.sleep(0.5)
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
    eq(p.returncode, 0, "status")
    ev = read_jsonl(jl)
    starts = [e for e in ev if e["type"] == "session_start"]
    eq(len(starts), 2, "one session per matching process")
    for s in starts:
        eq(s["mode"], "comm", "mode")
        execs = [e for e in ev if e["type"] == "exec" and e["session"] == s["session"]]
        eq(len(execs), 1, "the matching exec")
        eq(execs[0]["argv"], [probe, "/etc/hostname"], "argv")
        opens = [e for e in ev if e["type"] == "open" and e["session"] == s["session"]
                 and e["path"] == os.path.realpath("/etc/hostname")]
        eq(len(opens), 1, "its open")
    ends = [e for e in ev if e["type"] == "session_end"]
    eq(len(ends), 2, "both sessions ended")
    plain = [e for e in ev if e["type"] == "exec" and e["argv"] == ["cat", "/etc/hostname"]]
    eq(plain, [], "a non-matching process is not recorded")


def test_lost_events_are_counted_per_kind():
    d = tmpdir()
    go, done, marker = (os.path.join(d, n) for n in ("go", "done", "marker"))
    open(marker, "w").close()
    n = 30000
    loop = ("import os, time\n"
            "while not os.path.exists(%r): time.sleep(0.01)\n"
            "for _ in range(%d):\n"
            "    os.close(os.open(%r, os.O_RDONLY))\n"
            "open(%r, 'w').close()\n" % (go, n, marker, done))
    p, pd, jl, db = start_record([PY, "-c", loop], extra=["--ringbuf-mb", "1", "--stats"])
    try:
        wait_loaded(pd)
        wait_for(lambda: any(e["type"] == "session_start" for e in read_jsonl(jl)), what="start")
        p.send_signal(signal.SIGSTOP)          # nobody drains the ring buffer now
        open(go, "w").close()
        wait_for(lambda: os.path.exists(done), timeout=60, what="workload")
        p.send_signal(signal.SIGCONT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    eq(p.returncode, 0, "status")
    ev = read_jsonl(jl)
    end = [e for e in ev if e["type"] == "session_end"][0]
    recorded = len([e for e in ev if e["type"] == "open" and e.get("path") == marker])
    lost = end["drops"]["open"]
    if not (0 < recorded < n):
        raise AssertionError("expected a partial record, got %d of %d" % (recorded, n))
    if lost < n - recorded:
        raise AssertionError("lost opens not counted: %d recorded + %d lost < %d" % (recorded, lost, n))
    eq(end["lost_total"] >= lost, True, "lost_total includes the open drops")
    if b"events were lost" not in err and b"open" not in err:
        raise AssertionError("--stats did not report the loss: %r" % err)
    con = sqlite3.connect(db)
    drops = json.loads(con.execute("SELECT drops FROM sessions").fetchone()[0])
    eq(drops["open"], lost, "the store has the per-kind drops")
    con.close()


def test_sigterm_during_an_event_flood_stops_cleanly():
    d = tmpdir()
    flood = ("import os, signal, sys\n"
             "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
             "open(os.path.join(sys.argv[1], 'started'), 'w').write(str(os.getpid()))\n"
             "while True:\n"
             "    os.close(os.open('/etc/hostname', os.O_RDONLY))\n")
    p, _, jl, db = start_record([PY, "-c", flood, d])
    try:
        wait_for(lambda: os.path.exists(os.path.join(d, "started")) and
                 os.path.getsize(os.path.join(d, "started")) > 0, what="flood")
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)     # the command ignores SIGTERM: agenttrail stops anyway
    finally:
        if p.poll() is None:
            p.kill()
        with open(os.path.join(d, "started")) as f:
            os.kill(int(f.read()), signal.SIGKILL)
    eq(p.returncode, 128 + signal.SIGTERM, "status when the command outlives the recording")
    ev = read_jsonl(jl)
    end = [e for e in ev if e["type"] == "session_end"]
    eq(len(end), 1, "session closed")
    eq(end[0]["root_running"], True, "the root was still running")
    con = sqlite3.connect(db)
    eq(con.execute("SELECT count(*) FROM events").fetchone()[0], len(ev), "store == JSONL")
    con.close()


def test_backlog_at_session_end_is_drained_completely():
    # a burst far faster than the store can take: the backlog left in the
    # ring buffer when the command exits must all reach the store
    d = tmpdir()
    marker = os.path.join(d, "m")
    open(marker, "w").close()
    n = 150000
    r = record([PY, "-c", "import os\nfor _ in range(%d): os.close(os.open(%r, os.O_RDONLY))\n"
                % (n, marker)], extra=["--stats"])
    eq(r.rc, 0, "status")
    end = r.one("session_end")
    got = r.sql("SELECT count(*) FROM files WHERE path = ?", marker)[0][0]
    eq(got + end["drops"]["open"], n, "every open is stored or counted as lost")
    eq(len(r.of("open", path=marker)), got, "JSONL and store agree")


run_tests(globals())
