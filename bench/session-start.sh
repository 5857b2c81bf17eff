#!/usr/bin/env bash
# Measures how long the first request of a new session takes on a warm-pool hit and on a cold
# start, next to a request of an existing session and the raw start-to-ready time of the sandbox
# command itself (the echo agent). Prints medians over N rounds (default 15).
#   bench/session-start.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-15}
PORT=${PORT:-18180}
work=$(mktemp -d)
trap 'kill $proxy 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
[ -f proxy/target/agentcube-proxy.jar ] || mvn -B -q -DskipTests package
mkdir -p "$work/runtimes"
agent=$(pwd)/conf/runtimes/echo_agent.py
for spec in "warm 2" "cold 0"; do
  set -- $spec
  cat > "$work/runtimes/$1.yaml" <<YAML
apiVersion: runtime.agentcube.volcano.sh/v1alpha1
kind: AgentRuntime
metadata: {name: $1}
spec:
  targetPort: [{port: 8080, pathPrefix: /}]
  podTemplate: {spec: {containers: [{name: echo, command: [python3, -S, "$agent"]}]}}
  warmPoolSize: $2
YAML
done
java -jar proxy/target/agentcube-proxy.jar --server.port=$PORT --runtimes.dirs="$work/runtimes" \
  --process.stateDir="$work/state" --runtimes.reloadInterval=0s > "$work/proxy.log" 2>&1 &
proxy=$!
base=http://127.0.0.1:$PORT
for i in $(seq 1 120); do curl -sf $base/health/ready >/dev/null && break; sleep 0.25; done
ready() { curl -s $base/v1/namespaces/default/runtimes | python3 -c 'import json,sys; print([r["status"]["warmPool"]["ready"] for r in json.load(sys.stdin)["items"] if r["name"]=="warm"][0])'; }
t() { curl -s -o /dev/null -w '%{time_total}\n' "$@"; }
: > "$work/warm"; : > "$work/cold"; : > "$work/existing"; : > "$work/raw"
sid=$(curl -s -D - -o /dev/null $base/v1/namespaces/default/agent-runtimes/warm/invocations/ | tr -d '\r' | awk -F': ' 'tolower($1)=="x-agentcube-session-id"{print $2}')
for i in $(seq 1 "$N"); do
  for w in $(seq 1 200); do [ "$(ready)" = 2 ] && break; sleep 0.05; done
  t $base/v1/namespaces/default/agent-runtimes/warm/invocations/ >> "$work/warm"
  t -H "x-agentcube-session-id: $sid" $base/v1/namespaces/default/agent-runtimes/warm/invocations/ >> "$work/existing"
  t $base/v1/namespaces/default/agent-runtimes/cold/invocations/ >> "$work/cold"
  # The sandbox command alone: start the agent, poll its port like the proxy does.
  p=$((PORT + 1000 + i))
  s=$(date +%s.%N); PORT=$p python3 -S "$agent" >/dev/null 2>&1 & a=$!
  until curl -s -o /dev/null http://127.0.0.1:$p/; do sleep 0.002; done
  e=$(date +%s.%N); kill $a; wait $a 2>/dev/null || true
  echo "$e - $s" | bc >> "$work/raw"
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "%.1f ms", m*1000}'; }
echo "rounds: $N"
echo "existing session request:        $(median "$work/existing")"
echo "new session, warm-pool hit:      $(median "$work/warm")"
echo "new session, cold start:         $(median "$work/cold")"
echo "raw sandbox start-to-ready:      $(median "$work/raw")"
