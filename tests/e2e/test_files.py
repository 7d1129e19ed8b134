"""File events: real paths resolved in the kernel, errno, access classes."""
import os
import stat
from atlib import PY, eq, record, run_tests, tmpdir


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


run_tests(globals())
