#!/usr/bin/env bash
# The main job: set up, record a scripted agent-like workload into the
# default SQLite store, then print the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
AT=build/agenttrail
PY=/usr/bin/python3

work=$(mktemp -d /tmp/agenttrail-demo.XXXXXX)
printf '# demo project\n' > "$work/README.md"

# An HTTP endpoint on loopback, outside the session: it is not recorded,
# the demo agent's connection to it is.
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$PY -m http.server --bind 127.0.0.1 --directory "$work" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do
  $PY -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && break
  sleep 0.1
done

echo "== agenttrail record -- python3 scripts/demo_agent.py"
$AT record --stats -- $PY scripts/demo_agent.py "$work" "$port"
for view in sessions tree files net summary; do
  echo
  echo "== agenttrail report $view"
  $AT report "$view"
done
