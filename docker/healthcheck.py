"""The image's HEALTHCHECK: asks the running process its own health endpoint.

The process is PID 1 (the entry point execs it), or PID 1's child under an init such as
``docker run --init``; SIMPLISMART_HEALTHCHECK_PID names another one.
"""

import os
import sys
import urllib.request
from pathlib import Path


def role(pid: str) -> str | None:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    for index, word in enumerate(words):
        if word in ("simplismart.api", "simplismart.operator"):
            rest = words[index + 1 :]
            return "migrate" if "migrate" in rest else word.split(".")[1]
        if word.endswith("simplismart") and index + 1 < len(words):
            return words[index + 1] or None
    return None


def main() -> int:
    pid = os.environ.get("SIMPLISMART_HEALTHCHECK_PID") or "1"
    found = role(pid)
    if found is None:  # an init process: look at its children
        children = Path(f"/proc/{pid}/task/{pid}/children")
        for child in children.read_text().split() if children.exists() else []:
            found = found or role(child)
    if found == "api":
        port = os.environ.get("SIMPLISMART_API_PORT") or "5002"
    elif found == "operator":
        port = os.environ.get("SIMPLISMART_HEALTH_PORT") or "8080"
    else:
        return 0  # a one-shot command: nothing to probe
    if port == "0":
        return 0  # the probe endpoint is turned off
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as reply:
            return 0 if reply.status == 200 else 1
    except OSError as error:
        print(f"unhealthy: {found} on port {port}: {error}", file=sys.stderr)
        return 1


sys.exit(main())
