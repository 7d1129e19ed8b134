"""A scripted stand-in for a coding agent, used by scripts/demo.sh.

It does what agents do in a workspace: reads the project, edits a file,
asks its model what to do next (over HTTPS, Anthropic Messages API), runs
the tool call the model answered with, sends the result back, and cleans
up. agenttrail records all of it, the model traffic included, without any
cooperation from this script.
"""
import json
import os
import ssl
import subprocess
import sys
import urllib.request

workspace, base_url, cafile = sys.argv[1], sys.argv[2], sys.argv[3]
os.chdir(workspace)
ctx = ssl.create_default_context(cafile=cafile)
TOOLS = [{"name": "Bash", "description": "Run a shell command",
          "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]


def ask(messages):
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 1024, "tools": TOOLS,
                       "system": "You are a careful coding agent.",
                       "messages": messages}).encode()
    req = urllib.request.Request(base_url + "/v1/messages", data=body, headers={
        "content-type": "application/json", "anthropic-version": "2023-06-01",
        "x-api-key": "sk-ant-api03-demo-" + "k" * 40})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.load(r)


with open("README.md") as f:                      # read the project
    f.read()
with open("app.py", "w") as f:                     # edit a file
    f.write("def add(a, b):\n    return a + b\n")
messages = [{"role": "user", "content": "I added app.py; please run the tests."}]
reply = ask(messages)                              # the model answers with a tool call
for block in reply["content"]:
    if block["type"] == "tool_use":
        out = subprocess.run(["sh", "-c", block["input"]["command"]], capture_output=True,
                             text=True)
        messages += [{"role": "assistant", "content": reply["content"]},
                     {"role": "user", "content": [{"type": "tool_result",
                                                   "tool_use_id": block["id"],
                                                   "content": out.stdout + out.stderr}]}]
final = ask(messages)
print("model:", " ".join(b.get("text", "") for b in final["content"]))
os.rename("app.py", "app.old")
os.unlink("app.old")
