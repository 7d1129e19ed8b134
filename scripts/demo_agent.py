"""A scripted stand-in for a coding agent, used by scripts/demo.sh.

It does what agents do in a workspace: reads the project, edits a file,
runs a shell command and a test, and talks to an HTTP endpoint on loopback.
agenttrail records all of it without any cooperation from this script.
"""
import os
import subprocess
import sys
import urllib.request

workspace, port = sys.argv[1], int(sys.argv[2])
os.chdir(workspace)

with open("README.md") as f:                      # read the project
    f.read()
with open("app.py", "w") as f:                     # edit a file
    f.write("def add(a, b):\n    return a + b\n")
subprocess.run(["sh", "-c", "ls -la . > listing.txt && wc -l app.py"], check=True)
subprocess.run([sys.executable, "-c",              # "run the tests"
                "import app; assert app.add(2, 2) == 4; print('tests ok')"], check=True)
with urllib.request.urlopen("http://127.0.0.1:%d/README.md" % port, timeout=5) as r:
    r.read()                                       # "call a model"
os.rename("listing.txt", "listing.old")
os.unlink("listing.old")
