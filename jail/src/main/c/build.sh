#!/bin/sh
# Builds agentcube-jail-exec (jail-exec.c) to $1; run by Maven (jail module, process-classes),
# so the binary ships inside the jail jar and every jar that shades it. Static where the C
# library allows it (no dynamic loader on every sandbox start), else dynamic. Without a C
# compiler it builds nothing and says so: Jail then falls back to setpriv + prlimit.
set -eu
out="$1"
src="$(dirname "$0")/jail-exec.c"
cc="${CC:-gcc}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "WARNING: no $cc: agentcube-jail-exec not built; jails use setpriv + prlimit (about 3 ms more per command)" >&2
  rm -f "$out"
  exit 0
fi
mkdir -p "$(dirname "$out")"
flags="-O2 -s -Wall -Wextra -Werror -std=c11 -D_FORTIFY_SOURCE=2"
"$cc" $flags -static -o "$out.tmp" "$src" 2>/dev/null || "$cc" $flags -o "$out.tmp" "$src"
mv "$out.tmp" "$out"
