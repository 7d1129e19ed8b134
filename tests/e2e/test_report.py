"""`agenttrail report` on a real recording: exact tree, files, net, summary."""
import json
import os
import socket
import subprocess
import threading
from atlib import AGENTTRAIL, PY, eq, record, run_tests, tmpdir


def report(db, *args):
    p = subprocess.run([AGENTTRAIL, "report", "--db", db] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_tree_files_net_summary_of_a_recording():
    d = tmpdir()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        c, _ = srv.accept()
        while c.recv(100):
            pass
        c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    # the client waits for the server's close, so its socket is fully
    # closed (and its byte totals known) before it exits
    client = ("import socket; s = socket.create_connection(('127.0.0.1', %d)); "
              "s.sendall(b'12345'); s.shutdown(1); s.recv(10); s.close()" % port)
    cmd = ("cat /etc/hostname >/dev/null; sh -c 'echo x > %s/out.txt; exit 3'; "
           "%s -c \"%s\"; true"
           % (d, PY, client))
    r = record(["bash", "-c", cmd])
    t.join(10)
    srv.close()
    eq(r.rc, 0, "status")

    rc, out, _ = report(r.db, "--json", "tree")
    eq(rc, 0, "report tree rc")
    tree = json.loads(out)
    eq(len(tree), 1, "one root")
    root = tree[0]
    eq(root["argv"], ["bash", "-c", cmd], "root argv")
    kids = [(c["argv"], c["exit_code"]) for c in root["children"]]
    eq(kids, [(["cat", "/etc/hostname"], 0),
              (["sh", "-c", "echo x > %s/out.txt; exit 3" % d], 3),
              ([PY, "-c", client], 0)],
       "children in order with exit codes")

    rc, out, _ = report(r.db, "tree")
    eq(rc, 0, "text tree rc")
    lines = out.splitlines()
    if not lines[0].split() == ["PID", "EXIT", "DURATION", "COMMAND"]:
        raise AssertionError("header: %r" % lines[0])
    eq(len(lines), 5, "header + 4 processes")
    if not lines[2].rstrip().endswith("  cat /etc/hostname"):
        raise AssertionError("child indented under root: %r" % lines[2])

    rc, out, _ = report(r.db, "--json", "files")
    files = json.loads(out)
    blob = json.dumps(files)
    if "%s/out.txt" % d not in blob:
        raise AssertionError("written file missing from files report")

    rc, out, _ = report(r.db, "--json", "net")
    eq(rc, 0, "net rc")
    net = json.loads(out)
    conns = [c for c in (net if isinstance(net, list) else net.get("connections", []))
             if c.get("dport") == port]
    eq(len(conns), 1, "one connection to the listener")
    eq(conns[0]["bytes_sent"], 5, "bytes sent in the report")

    rc, out, _ = report(r.db, "--json", "summary")
    summ = json.loads(out)
    eq(summ["lost_total"], 0, "nothing lost")
    eq(summ["processes"], 4, "processes")


def test_report_errors_are_clear():
    rc, _, err = report("/nonexistent/trail.db", "tree")
    eq(rc, 1, "missing db is a runtime error")
    if "/nonexistent/trail.db" not in err:
        raise AssertionError("error names the file: %r" % err)
    rc, _, err = report("/nonexistent/trail.db", "no-such-view")
    eq(rc, 2, "unknown view is a usage error")


run_tests(globals())
