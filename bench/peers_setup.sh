#!/usr/bin/env bash
# Installs the peers that `python -m bench peers` measures, outside the repository, into
# ${BENCH_PEERS:-/tmp/peers} (the path bench/peers.py reads):
#   n8n 2.8.4      one published workflow: a Webhook node answering POST /webhook/bench at once
#                  (responseMode onReceived), on n8n's default SQLite in n8n/home
#   Node-RED 4.1.15  userdir/flows.json: http in (POST /hooks/bench) -> file (append the body
#                  plus a newline to nodered/bodies.jsonl) -> http response 200
# Needs node and npm (n8n 2.8.4 asks for Node >= 22 and warns on Node 20, but runs).
# The n8n install takes 7 to 9 minutes on the 2-core machine, Node-RED's under a minute.
# Safe to run again: npm install is incremental and the workflow import overwrites by id.
set -euo pipefail

PEERS=${BENCH_PEERS:-/tmp/peers}
N8N_DIR=$PEERS/n8n
RED_DIR=$PEERS/nodered
mkdir -p "$N8N_DIR/home" "$RED_DIR/userdir"

step() { printf '\n== %s (%ss so far)\n' "$*" "$SECONDS"; }

step "Node-RED 4.1.15 into $RED_DIR"
cd "$RED_DIR"
echo '{"private":true,"dependencies":{"node-red":"4.1.15"}}' > package.json
npm install --no-audit --no-fund
cat > userdir/flows.json <<EOF
[
  {"id": "bench.tab", "type": "tab", "label": "bench"},
  {"id": "bench.in", "type": "http in", "z": "bench.tab", "url": "/hooks/bench",
   "method": "post", "upload": false, "wires": [["bench.file"]]},
  {"id": "bench.file", "type": "file", "z": "bench.tab", "filename": "$RED_DIR/bodies.jsonl",
   "filenameType": "str", "appendNewline": true, "createDir": true, "overwriteFile": "false",
   "encoding": "none", "wires": [["bench.out"]]},
  {"id": "bench.out", "type": "http response", "z": "bench.tab", "statusCode": "200",
   "headers": {}, "wires": []}
]
EOF

step "n8n 2.8.4 into $N8N_DIR"
cd "$N8N_DIR"
# xlsx: n8n's pinned version is fetched from a CDN tarball, which this machine cannot reach.
echo '{"private":true,"dependencies":{"n8n":"2.8.4"},"overrides":{"xlsx":"0.18.5"}}' \
  > package.json
npm install --no-audit --no-fund
cat > workflow.json <<'EOF'
[
  {
    "id": "benchWebhook01",
    "name": "bench webhook",
    "active": false,
    "settings": {"executionOrder": "v1"},
    "connections": {},
    "nodes": [
      {
        "id": "5b0e2a4c-0d6e-4c1a-9a55-6f1f3e0b0001",
        "name": "Webhook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "webhookId": "5b0e2a4c-0d6e-4c1a-9a55-6f1f3e0b0002",
        "parameters": {"httpMethod": "POST", "path": "bench", "responseMode": "onReceived",
                       "options": {}}
      }
    ]
  }
]
EOF

step "n8n: import and publish the workflow"
export N8N_USER_FOLDER=$N8N_DIR/home N8N_DIAGNOSTICS_ENABLED=false
./node_modules/.bin/n8n import:workflow --input=workflow.json
./node_modules/.bin/n8n publish:workflow --id=benchWebhook01

step "done: $PEERS"
