"""File events: real paths resolved in the kernel, errno, access classes."""
import os
import stat
import subprocess
from atlib import AGENTTRAIL, PY, eq, record, run_tests, tmpdir


def workload(script):
    return [PY, "-c", script]


def test_openat_dirfd_dotdot_symlink_resolves_real_path():
    d = tmpdir()
    os.makedirs(os.path.join(d, "x"))
    os.makedirs(os.path.join(d, "y"))
    os.makedirs(os.path.join(d, "real"))
    target = os.path.join(d, "real", "target.txt")
    with open(target, "w") as f:
        f.write("secret")
    os.symlink(target, os.path.join(d, "x", "link"))
    script = (
        "import os\n"
        "dfd = os.open(%r, os.O_RDONLY | os.O_DIRECTORY)\n"
        "fd = os.open('../x/link', os.O_RDONLY, dir_fd=dfd)\n"
        "os.read(fd, 10)\n" % os.path.join(d, "y"))
    r = record(workload(script))
    eq(r.rc, 0, "status")
    ev = r.one("open", arg_path="../x/link")
    eq(ev["path"], target, "real absolute target path")
    eq(ev["path_source"], "kernel", "resolved from the opened file")
    eq(ev["access"], "read", "access")
    if ev["ret"] < 0:
        raise AssertionError("open failed: %r" % ev)
    eq(ev["errno"], None, "errno")
    eq(ev["ino"], os.stat(target).st_ino, "inode")


def test_failed_open_records_errno_and_path():
    d = tmpdir()
    os.makedirs(os.path.join(d, "sub"))
    script = (
        "import os\n"
        "for p in (%r, 'sub/../nothere'):\n"
        "    try:\n"
        "        os.open(p, os.O_RDONLY)\n"
        "    except FileNotFoundError:\n"
        "        pass\n" % os.path.join(d, "missing", "file"))
    # the relative path is resolved against the workload's cwd: run it in d
    r = record(["sh", "-c", "cd %s && exec %s -c \"$0\"" % (d, PY), script])
    abs_ev = r.one("open", arg_path=os.path.join(d, "missing", "file"))
    eq(abs_ev["ret"], -2, "ret")
    eq(abs_ev["errno"], "ENOENT", "errno")
    eq(abs_ev["path"], os.path.join(d, "missing", "file"), "path of a failed absolute open")
    rel_ev = r.one("open", arg_path="sub/../nothere")
    eq(rel_ev["errno"], "ENOENT", "errno")
    eq(rel_ev["path"], os.path.join(d, "nothere"), "cwd (resolved in kernel) + argument")
    eq(rel_ev["path_source"], "lexical", "path_source")


def test_write_create_truncate_classification():
    d = tmpdir()
    new = os.path.join(d, "new.txt")
    rw = os.path.join(d, "rw.txt")
    with open(rw, "w") as f:
        f.write("x")
    script = (
        "import os\n"
        "os.close(os.open(%r, os.O_WRONLY | os.O_CREAT, 0o640))\n"
        "os.close(os.open(%r, os.O_RDWR | os.O_TRUNC))\n" % (new, rw))
    r = record(workload(script))
    w = r.one("open", path=new)
    eq(w["access"], "write", "O_WRONLY|O_CREAT is a write")
    eq(w["create"], True, "create")
    eq(w["truncate"], False, "truncate")
    eq(w["flags_str"], "O_WRONLY|O_CREAT|O_CLOEXEC", "flags_str")
    eq(w["mode"], 0o640, "mode")
    x = r.one("open", path=rw)
    eq(x["access"], "read-write", "O_RDWR")
    eq(x["truncate"], True, "O_TRUNC")
    # creat(2) too, through a C-level call
    r = record(["sh", "-c", "echo hi > %s/creat.txt" % d])
    c = r.one("open", path=os.path.join(d, "creat.txt"))
    eq(c["access"], "write", "shell redirection is a write")
    eq(c["create"], True, "create")
    eq(c["truncate"], True, "truncate")


def test_unlink_rename_mkdir_chmod():
    d = tmpdir()
    os.makedirs(os.path.join(d, "dir"))
    with open(os.path.join(d, "a.txt"), "w") as f:
        f.write("a")
    with open(os.path.join(d, "gone.txt"), "w") as f:
        f.write("g")
    script = (
        "import os\n"
        "os.chdir(%r)\n"
        "os.mkdir('dir/new', 0o700)\n"
        "os.rename('a.txt', 'dir/b.txt')\n"
        "os.chmod('dir/b.txt', 0o600)\n"
        "os.unlink('gone.txt')\n"
        "os.mkdir('empty')\n"
        "os.rmdir('empty')\n"
        "try:\n"
        "    os.unlink('never.txt')\n"
        "except FileNotFoundError:\n"
        "    pass\n" % d)
    r = record(workload(script))
    m = r.one("mkdir", arg_path="dir/new")
    eq(m["path"], os.path.join(d, "dir", "new"), "mkdir path")
    eq(m["mode"], 0o700, "mkdir mode")
    eq(m["ret"], 0, "mkdir ret")
    rn = r.one("rename")
    eq(rn["path"], os.path.join(d, "a.txt"), "rename old")
    eq(rn["new_path"], os.path.join(d, "dir", "b.txt"), "rename new")
    eq(rn["ret"], 0, "rename ret")
    ch = r.one("chmod", arg_path="dir/b.txt")
    eq(ch["path"], os.path.join(d, "dir", "b.txt"), "chmod path")
    eq(ch["mode"], 0o600, "chmod mode")
    ul = r.one("unlink", arg_path="gone.txt")
    eq(ul["path"], os.path.join(d, "gone.txt"), "unlink path")
    eq(ul["ret"], 0, "unlink ret")
    bad = r.one("unlink", arg_path="never.txt")
    eq(bad["errno"], "ENOENT", "failed unlink errno")
    rd = r.one("unlink", arg_path="empty")   # rmdir(2)
    eq((rd["path"], rd["ret"], rd["flags"]), (os.path.join(d, "empty"), 0, 0x200),
       "rmdir: path, ret, AT_REMOVEDIR")


def test_path_through_bind_mount():
    d = tmpdir()
    src = os.path.join(d, "src")
    mnt = os.path.join(d, "mnt")
    os.makedirs(src)
    os.makedirs(mnt)
    with open(os.path.join(src, "f.txt"), "w") as f:
        f.write("m")
    # a private mount namespace so the bind mount is visible only to the workload
    r = record(["unshare", "-m", "--propagation", "private", "sh", "-c",
                "mount --bind %s %s && cat %s/f.txt" % (src, mnt, mnt)])
    eq(r.rc, 0, "status")
    ev = [e for e in r.of("open") if e["arg_path"] == mnt + "/f.txt"]
    eq(len(ev), 1, "one open through the mount point")
    eq(ev[0]["path"], mnt + "/f.txt", "path crosses the mount to the mount point")


def test_pipe_opened_by_path_is_a_pseudo_path():
    r = record(["sh", "-c", "echo hi | cat /dev/stdin > /dev/null"])
    ev = r.one("open", arg_path="/dev/stdin")
    eq(ev["path_source"], "pseudo", "a pipe has no place in the tree")
    eq(ev["path"], "pseudo:[%d]" % ev["ino"], "path names the inode")


def test_search_misses_fold_into_the_open_that_found_the_file():
    """A header looked for in three include directories and found in the
    third: one open event listing the two misses; a search that finds
    nothing, or whose next open is of another name, keeps its misses as
    events. The store's files view still has a row for every attempt."""
    d = tmpdir()
    dirs = [os.path.join(d, n) for n in ("inc1", "inc2", "inc3", "other")]
    for x in dirs:
        os.makedirs(x)
    with open(os.path.join(dirs[2], "x.h"), "w") as f:
        f.write("found")
    with open(os.path.join(dirs[3], "y.h"), "w") as f:
        f.write("other")
    with open(os.path.join(dirs[2], "w.db"), "w") as f:
        f.write("opened for writing")
    script = (
        "import os\n"
        "def search(name, dirs, flags=os.O_RDONLY):\n"
        "    for x in dirs:\n"
        "        try:\n"
        "            os.close(os.open(os.path.join(x, name), flags))\n"
        "            return\n"
        "        except FileNotFoundError:\n"
        "            pass\n"
        "search('x.h', %r)\n"
        "search('nowhere.h', %r)\n"
        "search('y.h', %r)\n"
        "search('w.db', %r, os.O_RDWR)\n" % (dirs[:3], dirs[:2], dirs[:2] + [dirs[3]], dirs[:3]))
    r = record([PY, "-c", script], extra=["--stats"])
    eq(r.rc, 0, "status")
    hit = r.one("open", path=os.path.join(dirs[2], "x.h"))
    eq(hit["errno"], None, "the open that found the file")
    eq(hit["searched"], [os.path.join(dirs[0], "x.h"), os.path.join(dirs[1], "x.h")],
       "the misses before it, in order")
    for x in dirs[:2]:
        eq(r.of("open", path=os.path.join(x, "x.h")), [], "a folded miss is no event of its own")
    # nowhere.h: found nowhere, then another name: its misses stay events;
    # y.h in inc1 and inc2, then found in other
    for x in dirs[:2]:
        miss = r.one("open", path=os.path.join(x, "nowhere.h"))
        eq(miss["errno"], "ENOENT", "an unfolded miss")
        eq("searched" in miss, False, "a miss has no searched")
    y = r.one("open", path=os.path.join(dirs[3], "y.h"))
    eq(y["searched"], [os.path.join(dirs[0], "y.h"), os.path.join(dirs[1], "y.h")],
       "the next search folds again")
    other = [e for e in r.of("open") if e.get("errno") is None and "searched" not in e
             and e["path"].startswith(d)]
    eq(other, [], "no other open of the workload's files")
    # --stats counts every folded miss (the interpreter's own start folds some)
    folded = [l for l in r.stderr.splitlines() if l.startswith("failed opens folded")]
    eq(folded, ["failed opens folded into the open that ended their search: %d"
                % sum(len(e.get("searched", [])) for e in r.of("open"))], "--stats")
    # the files view: a row per attempt, the misses with the open's flags
    # the timeline shows an open for writing with the places it looked first
    rep = subprocess.run([AGENTTRAIL, "report", "--db", r.db, "timeline"],
                         capture_output=True, text=True, timeout=60)
    eq(rep.returncode, 0, "report timeline")
    w = [l for l in rep.stdout.splitlines() if "w.db" in l]
    eq(len(w), 1, "one timeline line for w.db: %r" % w)
    eq(w[0].endswith("read-write %s (after 2 misses)" % os.path.join(dirs[2], "w.db")), True,
       "timeline line %r" % w[0])
    rows = r.sql("SELECT path, ret, errno, access, flags, id FROM files"
                 " WHERE session = ? AND path LIKE ? AND path NOT LIKE '%.db'"
                 " ORDER BY path", r.session(), d + "/%")
    eq([(p, ret, err) for p, ret, err, _, _, _ in rows],
       [(os.path.join(dirs[0], "nowhere.h"), -2, "ENOENT"),
        (os.path.join(dirs[0], "x.h"), -2, "ENOENT"),
        (os.path.join(dirs[0], "y.h"), -2, "ENOENT"),
        (os.path.join(dirs[1], "nowhere.h"), -2, "ENOENT"),
        (os.path.join(dirs[1], "x.h"), -2, "ENOENT"),
        (os.path.join(dirs[1], "y.h"), -2, "ENOENT"),
        (os.path.join(dirs[2], "x.h"), hit["ret"], None),
        (os.path.join(dirs[3], "y.h"), y["ret"], None)], "files: every attempt")
    by_path = {p: (acc, fl, i) for p, _, _, acc, fl, i in rows}
    hit_row = by_path[os.path.join(dirs[2], "x.h")]
    eq(by_path[os.path.join(dirs[0], "x.h")], hit_row, "a miss's access, flags, id: the open's")


run_tests(globals())
