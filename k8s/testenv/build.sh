#!/usr/bin/env bash
# Builds kube-apiserver and etcd for the test environment into a cache directory outside the repo
# and prints that bin directory as the last line of stdout (progress goes to stderr).
#
#   k8s/testenv/build.sh            # builds once, then returns at once while the stamp matches
#   AGENTCUBE_TESTENV_CACHE=/tmp/x k8s/testenv/build.sh
#
# Layout: ${AGENTCUBE_TESTENV_CACHE:-/var/cache/agentcube-testenv}/<k8s-version>/bin/
# {kube-apiserver,etcd,.stamp}. The stamp records the pinned versions and a hash of the module
# files; while it matches and both binaries exist nothing is built. A cold build takes tens of
# minutes on 2 cores (see README.md); Go's module and build caches stay at their defaults.
# Needs Go >= 1.24 (the modules' go line) and nothing from the network but the Go module proxy.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${AGENTCUBE_TESTENV_CACHE:-/var/cache/agentcube-testenv}"

kube_version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$here/go.mod")"
etcd_version="$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" {print $3}' "$here/etcd/go.mod")"
if [ -z "$kube_version" ] || [ -z "$etcd_version" ]; then
  echo "build.sh: cannot read the pinned versions from $here/go.mod and $here/etcd/go.mod" >&2
  exit 1
fi

bin="$cache/$kube_version/bin"

# The version kube-apiserver reports (/version, and the basis of its compatibility version).
major="${kube_version#v}"; major="${major%%.*}"
minor="${kube_version#v*.}"; minor="${minor%%.*}"
vpkg=k8s.io/component-base/version
kube_ldflags="-s -w -X $vpkg.gitVersion=$kube_version -X $vpkg.gitMajor=$major -X $vpkg.gitMinor=$minor"
kube_ldflags="$kube_ldflags -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"

etcd_ldflags="-s -w"
stamp_want="kube-apiserver $kube_version
etcd $etcd_version
modules $(cat "$here/go.mod" "$here/go.sum" "$here/etcd/go.mod" "$here/etcd/go.sum" | sha256sum | cut -d' ' -f1)
ldflags $kube_ldflags; $etcd_ldflags"

up_to_date() {
  [ -x "$bin/kube-apiserver" ] && [ -x "$bin/etcd" ] && [ -f "$bin/.stamp" ] &&
    [ "$(cat "$bin/.stamp")" = "$stamp_want" ]
}

if up_to_date; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "build.sh: go is not on PATH (Go >= 1.24 is needed)" >&2; exit 1; }
mkdir -p "$bin" 2>/dev/null || {
  echo "build.sh: cannot create $bin; point AGENTCUBE_TESTENV_CACHE at a writable directory" >&2
  exit 1
}
# One build at a time per cache; a second caller waits and then finds the stamp.
exec 9>"$cache/.lock"
flock 9
if up_to_date; then
  echo "$bin"
  exit 0
fi
rm -f "$bin/.stamp"

# The machine's own Go, never a downloaded toolchain; static binaries; readonly modules, so an
# incomplete go.sum fails here instead of being "fixed" silently.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"

build() { # name module-dir package ldflags
  local name="$1" dir="$2" pkg="$3" ldflags="$4" t0
  t0=$(date +%s)
  echo "build.sh: building $name ($pkg) with $(go env GOVERSION)..." >&2
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/.$name.tmp" "$pkg")
  mv -f "$bin/.$name.tmp" "$bin/$name"
  echo "build.sh: $name built in $(( $(date +%s) - t0 )) s, $(du -h "$bin/$name" | cut -f1)" >&2
}

build kube-apiserver "$here" k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build etcd "$here/etcd" go.etcd.io/etcd/server/v3 "$etcd_ldflags"

printf '%s' "$stamp_want" > "$bin/.stamp"
echo "$bin"
