#!/usr/bin/env bash
# The main job: set up, record a scripted agent (which talks to a mock model
# over TLS and runs the tool call it gets) into the default SQLite store,
# then print the report, including the LLM calls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
AT=build/agenttrail
PY=/usr/bin/python3

work=$(mktemp -d /tmp/agenttrail-demo.XXXXXX)
printf '# demo project\n' > "$work/README.md"

# A mock model API (Anthropic Messages over TLS) on loopback, outside the
# session: it is not recorded; the demo agent's conversation with it is.
cat > "$work/script.json" <<'JSON'
{"turns": [{"tool_use": {"id": "toolu_demo_1", "name": "Bash",
            "input": {"command": "python3 -c 'import app; assert app.add(2, 2) == 4; print(\"tests ok\")'",
                      "description": "Run the test suite"}}},
           {"text": "The tests pass."}],
 "match": "tools"}
JSON
$PY tests/e2e/mock_llm.py --dir "$work/mock" --script "$work/script.json" \
  --ready-file "$work/port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "demo: the mock model server did not start" >&2; exit 1; }
base="https://127.0.0.1:$(cat "$work/port")"

echo "== agenttrail record -- python3 scripts/demo_agent.py"
$AT record --stats -- $PY scripts/demo_agent.py "$work" "$base" "$work/mock/tls/ca.pem"
for view in sessions tree files net llm summary; do
  echo
  echo "== agenttrail report $view"
  $AT report "$view"
done
