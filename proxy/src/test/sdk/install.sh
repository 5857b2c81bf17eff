#!/usr/bin/env bash
# Installs AgentCube's Python SDK (agentcube-sdk from PyPI, the version the compatibility tests
# pin) into a virtualenv cached outside the repository, and prints that virtualenv's python.
# Idempotent: an existing, working install is reused; a missing or broken one is rebuilt.
#
#   proxy/src/test/sdk/install.sh            # -> /root/.cache/agentcube/sdk-0.1.0/bin/python
set -euo pipefail
version="0.1.0"
dir="${AGENTCUBE_SDK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/agentcube/sdk-$version}"
py="$dir/bin/python"
if [ -x "$py" ] && "$py" -c "import agentcube, importlib.metadata as m; assert m.version('agentcube-sdk') == '$version'" 2>/dev/null; then
  echo "$py"; exit 0
fi
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
python3 -m venv "$dir" >&2
"$py" -m pip install -q --disable-pip-version-check "agentcube-sdk==$version" >&2
"$py" -c "import agentcube" >&2
echo "$py"
