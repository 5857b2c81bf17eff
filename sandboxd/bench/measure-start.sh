#!/usr/bin/env bash
# Start time and resident memory of sandboxd, and of the two minimal servers it was chosen
# between. Start time = process launch until the first 200 from GET /health (curl polled every
# 5 ms); memory = VmRSS from /proc/<pid>/status right after that answer; cpu = the process's
# user+system CPU time until then (less sensitive to other load on the machine than wall time).
# Variants run round-robin (one start of each per round) so background load hits them alike;
# prints every run and the median per variant.
#
#   mvn -B -q -pl sandboxd -am package -DskipTests && sandboxd/bench/measure-start.sh [ROUNDS]
#
# Needs java, javac, curl, openssl, and Maven for the Vert.x classpath (from the local repo).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
module="$(dirname "$here")"
jar="$module/target/agentcube-sandboxd.jar"
rounds="${1:-7}"
port="${MEASURE_PORT:-18480}"
fast="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

[ -f "$jar" ] || { echo "build the jar first: mvn -B -q -pl sandboxd -am package -DskipTests" >&2; exit 1; }
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
  echo "port $port is in use; set MEASURE_PORT" >&2; exit 1
fi
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
export PICOD_AUTH_PUBLIC_KEY="$(openssl pkey -in "$work/key.pem" -pubout)"
mkdir -p "$work/ws" "$work/classes"
mvn -B -q -f "$module/pom.xml" dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$work/cp.txt" >/dev/null
javac -d "$work/classes" "$here/JdkHealth.java"
# Only what a Vert.x server needs at run time: vertx-core, its Netty and Jackson.
vertx_cp="$(tr ':' '\n' < "$work/cp.txt" | grep -E '/(vertx-core|vertx-core-logging|netty-[a-z0-9-]+|jackson-core)-[0-9]' | paste -sd:)"
javac -cp "$vertx_cp" -d "$work/classes" "$here/VertxHealth.java"
(cd "$work/classes" && jar cf "$work/bench.jar" .)

sandboxd=(-jar "$jar" --host 127.0.0.1 --port "$port" --workspace "$work/ws")

# AppCDS archive of sandboxd's own classes (JDK 17: dump at exit of a training run).
java $fast -XX:ArchiveClassesAtExit="$work/sandboxd.jsa" "${sandboxd[@]}" >/dev/null 2>&1 &
pid=$!
until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do sleep 0.05; done
kill "$pid"; wait "$pid" 2>/dev/null || true

declare -A cmd=(
  [1-jdk-server-bare]="java -cp $work/bench.jar JdkHealth $port"
  [2-vertx-core-bare]="java -cp $work/bench.jar:$vertx_cp VertxHealth $port"
  [3-sandboxd-default]="java ${sandboxd[*]}"
  [4-sandboxd-fast]="java $fast ${sandboxd[*]}"
  [5-sandboxd-fast-appcds]="java $fast -XX:SharedArchiveFile=$work/sandboxd.jsa ${sandboxd[*]}"
)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  for name in $(printf '%s\n' "${!cmd[@]}" | sort); do
    t0=$(date +%s%N)
    ${cmd[$name]} >/dev/null 2>&1 &
    pid=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do sleep 0.005; done
    t1=$(date +%s%N)
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "$name $(( (t1 - t0) / 1000000 )) $(( rss / 1024 )) $cpu" | tee -a "$work/runs" \
      | awk '{print "round '"$round"' " $1 ": start_ms=" $2 " rss_mb=" $3 " cpu_ms=" $4}'
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median over $rounds starts:"
for name in $(printf '%s\n' "${!cmd[@]}" | sort); do
  ms=$(awk -v n="$name" '$1==n {print $2}' "$work/runs" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  mb=$(awk -v n="$name" '$1==n {print $3}' "$work/runs" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  cpu=$(awk -v n="$name" '$1==n {print $4}' "$work/runs" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  flags="$(echo "${cmd[$name]}" | { grep -oE -- '-XX:[^ ]+' || true; } | sed "s|$work/||" | paste -sd' ')"
  printf '  %-26s start %5s ms  rss %4s MB  cpu %5s ms   %s\n' "$name" "$ms" "$mb" "$cpu" \
    "${flags:-(no JVM flags)}"
done
