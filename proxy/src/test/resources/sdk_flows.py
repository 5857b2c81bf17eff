"""AgentCube's own Python SDK (agentcube-sdk from PyPI), unchanged, against a running proxy.

    python sdk_flows.py BASE_URL WORKDIR

Every flow of the SDK's README: a session, run_code in both languages, write_file, upload_file,
download_file, list_files, execute_command, reuse by session id, stop. Exits non-zero with the
failing step on stderr; prints SDK-FLOWS-OK and the session id when every step held.
"""
import hashlib
import os
import sys

from agentcube import CodeInterpreterClient
from agentcube.exceptions import CommandExecutionError

base, work = sys.argv[1], sys.argv[2]


def client(**kw):
    return CodeInterpreterClient(name="python", namespace="default",
                                 workload_manager_url=base, router_url=base, **kw)


def check(what, got, want):
    if got != want:
        sys.exit(f"{what}: got {got!r}, want {want!r}")


c = client()
sid = c.session_id
check("run_code python", c.run_code("python", "print(6*7)"), "42\n")
check("run_code bash", c.run_code("bash", "echo $((6*7))"), "42\n")

c.write_file("hello from the sdk\n", "notes/hello.txt")
check("execute_command", c.execute_command("cat notes/hello.txt"), "hello from the sdk\n")

blob = os.urandom(300_000)
up = os.path.join(work, "blob.bin")
with open(up, "wb") as f:
    f.write(blob)
c.upload_file(up, "data/blob.bin")
digest = c.run_code("python",
                    "import hashlib\nprint(hashlib.sha256(open('data/blob.bin','rb').read()).hexdigest())")
check("uploaded bytes", digest.strip(), hashlib.sha256(blob).hexdigest())

down = os.path.join(work, "down", "blob.bin")
c.download_file("data/blob.bin", down)
with open(down, "rb") as f:
    check("downloaded bytes", f.read() == blob, True)

names = sorted(e["name"] for e in c.list_files("."))
for n in ("data", "notes"):
    if n not in names:
        sys.exit(f"list_files: {n} missing from {names}")
check("list_files data", [e["name"] for e in c.list_files("data")], ["blob.bin"])

try:
    c.execute_command("bash -c 'echo bad >&2; exit 3'")
    sys.exit("execute_command: a failing command did not raise")
except CommandExecutionError as e:
    check("exit code", e.exit_code, 3)

# Reuse by session id: a second client sees the same workspace.
again = client(session_id=sid)
check("reused session", again.run_code("bash", "cat notes/hello.txt"), "hello from the sdk\n")
again.dp_client.close()

c.stop()
check("session id after stop", c.session_id, None)

# The stopped session is gone: reusing its id fails.
gone = client(session_id=sid)
try:
    gone.run_code("python", "print(1)")
    sys.exit("a stopped session still ran code")
except Exception as e:  # requests.HTTPError with the proxy's 404
    status = getattr(getattr(e, "response", None), "status_code", None)
    check("status of a stopped session", status, 404)

print("SDK-FLOWS-OK", sid)
