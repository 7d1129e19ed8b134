"""Bad conditions: a full disk under the store, bad options. Nothing recorded is lost silently."""
import os
import subprocess
from atlib import AGENTTRAIL, eq, read_jsonl, run_tests, tmpdir


def test_full_disk_under_the_store_keeps_the_jsonl_and_says_so():
    d = tmpdir()
    tiny = os.path.join(d, "tiny")
    os.makedirs(tiny)
    # room for the empty store (its schema takes some 450 KiB of 16 KiB pages, and as much
    # again in the WAL while it is made), not for the events
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", tiny], check=True)
    try:
        jl = os.path.join(d, "events.jsonl")
        n = 20000
        p = subprocess.run([AGENTTRAIL, "record", "--db", os.path.join(tiny, "t.db"), "--jsonl", jl,
                            "--", "/usr/bin/python3", "-c",
                            "import os\nfor _ in range(%d): os.close(os.open('/etc/hostname', 0))" % n],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    finally:
        subprocess.run(["umount", "-l", tiny])
    err = p.stderr.decode()
    eq(p.returncode, 0, "the command's status, not the store's")
    if "SQLITE_FULL" not in err or "events from now on go only to " + jl not in err:
        raise AssertionError("no clear error: %r" % err)
    if "INCOMPLETE" not in err:
        raise AssertionError("the summary does not flag the store: %r" % err)
    ev = read_jsonl(jl)
    opens = [e for e in ev if e["type"] == "open" and e.get("path") == os.path.realpath("/etc/hostname")]
    eq(len(opens), n, "every open is in the JSONL stream")
    eq(ev[-1]["type"], "session_end", "the stream is complete")


def test_usage_errors_exit_2_with_a_message():
    for args, needle in ((["record"], "give exactly one of"),
                         (["record", "--ringbuf-mb", "3", "--", "true"], "power of two"),
                         (["record", "--pid", "abc"], "not a pid"),
                         (["frobnicate"], "unknown command")):
        p = subprocess.run([AGENTTRAIL] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        eq(p.returncode, 2, "exit status of %r" % args)
        if needle not in p.stderr.decode():
            raise AssertionError("%r: %r" % (args, p.stderr.decode()))


def test_attach_to_a_missing_pid_is_a_clear_error():
    p = subprocess.run([AGENTTRAIL, "record", "--no-db", "--pid", "4194303"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(p.returncode, 1, "runtime error")
    if "no process 4194303" not in p.stderr.decode():
        raise AssertionError(p.stderr.decode())


run_tests(globals())
