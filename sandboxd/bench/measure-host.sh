#!/usr/bin/env bash
# Latency of a host-mode sandboxd: create a sandbox, run `true` in it (jailed where bubblewrap
# works), delete it; curl's time_total per request, median of ROUNDS. Also the time of the same
# `true` with --isolation off, for the jail's share.
#
#   mvn -B -q -pl sandboxd -am package -DskipTests && sandboxd/bench/measure-host.sh [ROUNDS]
#
# Needs java, curl, openssl. Run as root to measure a uid per sandbox (setpriv + chown).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="$(dirname "$here")/target/agentcube-sandboxd.jar"
rounds="${1:-20}"
work="$(mktemp -d)"; chmod 711 "$work"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
[ -f "$jar" ] || { echo "build the jar first" >&2; exit 1; }

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
export PICOD_AUTH_PUBLIC_KEY="$(openssl pkey -in "$work/key.pem" -pubout)"
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
jwt() { # jwt '{"claims":...}'
  local h p s
  h="$(printf '{"alg":"RS256","typ":"JWT"}' | b64)"; p="$(printf '%s' "$1" | b64)"
  s="$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$work/key.pem" | b64)"
  printf '%s.%s.%s' "$h" "$p" "$s"
}
now=$(date +%s); exp=$((now + 3600))
admin="$(jwt "{\"iss\":\"agentcube-router\",\"aud\":\"agentcube-sandbox-host\",\"iat\":$now,\"exp\":$exp}")"
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f ms\n", m*1000}'; }

run() { # run ISOLATION
  local iso="$1" port
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$jar" --mode host --workspaces "$work/ws-$iso" \
    --host 127.0.0.1 --port 0 --isolation "$iso" > "$work/out-$iso" 2> "$work/err-$iso" &
  pid=$!
  for _ in $(seq 200); do grep -q listening "$work/out-$iso" 2>/dev/null && break; sleep 0.05; done
  port="$(sed -n 's/sandboxd listening on port //p' "$work/out-$iso")"
  echo "isolation=$iso: $(curl -s "http://127.0.0.1:$port/health")"
  : > "$work/create"; : > "$work/exec"; : > "$work/delete"
  for i in $(seq "$rounds"); do
    id="bench-$i"
    tok="$(jwt "{\"iss\":\"agentcube-router\",\"session_id\":\"s-$i\",\"sandbox_id\":\"$id\",\"iat\":$now,\"exp\":$exp}")"
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $admin" \
      -H 'Content-Type: application/json' -d "{\"id\":\"$id\"}" \
      "http://127.0.0.1:$port/host/v1/sandboxes" >> "$work/create"
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $tok" \
      -H 'Content-Type: application/json' -d '{"command":["true"]}' \
      "http://127.0.0.1:$port/api/execute" >> "$work/exec"
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $admin" -X DELETE \
      "http://127.0.0.1:$port/host/v1/sandboxes/$id" >> "$work/delete"
  done
  echo "  create  $(median < "$work/create")"
  echo "  execute $(median < "$work/exec")   (first: $(head -1 "$work/exec")s)"
  echo "  delete  $(median < "$work/delete")"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}
run auto
run off
