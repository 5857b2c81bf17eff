#!/usr/bin/env bash
# Latency and throughput of a host-mode sandboxd: sessions of create a sandbox → run `true` in it
# (jailed where bubblewrap works) → delete it, driven by bench/HostLoad.java over keep-alive
# HTTP/1.1. For each jar and isolation (auto, then off): one client (p50/p99 per request), then
# CONCURRENCY clients (sessions/s). WARMUP sessions before each measurement are not counted.
#
#   mvn -B -q -pl sandboxd -am package -DskipTests && sandboxd/bench/measure-host.sh [SESSIONS] [CONCURRENCY]
#
# JARS="before.jar after.jar" measures several builds one after the other in one run (twice,
# A B A B, so background load hits them alike); default the module's jar. WARMUP (default 200),
# ISOLATION (default "auto off"), HOST_JVM_OPTS (default -XX:+UseSerialGC). Needs java, openssl. Run as root to measure a uid per sandbox
# (setpriv + chown).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sessions="${1:-500}"
concurrency="${2:-16}"
warmup="${WARMUP:-200}"
jars="${JARS:-$(dirname "$here")/target/agentcube-sandboxd.jar}"
isolations="${ISOLATION:-auto off}"
repeat=1; [ "$(wc -w <<< "$jars")" -gt 1 ] && repeat=2
work="$(mktemp -d)"; chmod 711 "$work"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for jar in $jars; do [ -f "$jar" ] || { echo "no $jar: build the jar first" >&2; exit 1; }; done

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
export PICOD_AUTH_PUBLIC_KEY="$(openssl pkey -in "$work/key.pem" -pubout)"
javac -d "$work/classes" "$here/HostLoad.java"
load() { java -XX:+UseSerialGC -cp "$work/classes" HostLoad "$@"; }

run() { # run JAR ISOLATION
  local jar="$1" iso="$2" port n=$((++runs))
  java ${HOST_JVM_OPTS:--XX:+UseSerialGC} -jar "$jar" --mode host \
    --workspaces "$work/ws-$n" --host 127.0.0.1 --port 0 --isolation "$iso" \
    > "$work/out-$n" 2> "$work/err-$n" &
  pid=$!
  for _ in $(seq 200); do grep -q listening "$work/out-$n" 2>/dev/null && break; sleep 0.05; done
  port="$(sed -n 's/sandboxd listening on port //p' "$work/out-$n")"
  echo "$(basename "$jar") isolation=$iso ($(grep -o '"isolation":"[^"]*"' \
    <<< "$(curl -s "http://127.0.0.1:$port/health")")), load average $(cut -d' ' -f1 /proc/loadavg)"
  load "http://127.0.0.1:$port" "$work/key.pem" "$sessions" 1 "$warmup"
  load "http://127.0.0.1:$port" "$work/key.pem" "$sessions" "$concurrency" "$warmup"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}
runs=0
for _ in $(seq "$repeat"); do
  for iso in $isolations; do
    for jar in $jars; do
      run "$jar" "$iso"
    done
  done
done
