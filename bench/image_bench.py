"""Benchmark of ``make image``: a cold build, a warm (unchanged) one, and the image's size.

Run ``python bench/image_bench.py`` as root. It runs hack/image.sh twice against a buildah image
store and a tool cache of its own (temporary, removed at the end), so the first run is cold as on
a fresh machine (debootstrap of the base, every layer built) and nothing of the machine's own
store is touched; the second run finds the same inputs and skips. The size is that of the
uncompressed layers (what ``buildah images`` and ``docker images`` show) and of the gzip layers
a registry would hold. Prints a Markdown table and writes docs/benchmarks/image.md.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "docs" / "benchmarks" / "image.md"
MB = 1000 * 1000
TARGETS = {"cold": "≤ 6 min", "warm": "≤ 30 s", "size": "≤ 250 MB"}


def _run(env: dict[str, str], *command: str | Path) -> str:
    done = subprocess.run(
        [str(c) for c in command], env=env, check=True, stdout=subprocess.PIPE, text=True
    )
    return done.stdout


def _timed_build(env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    image = _run(env, REPO_ROOT / "hack" / "image.sh").strip().splitlines()[-1]
    return time.monotonic() - started, image


def _sizes(env: dict[str, str], image: str, scratch: Path) -> tuple[int, int]:
    """Uncompressed layers (buildah's store), and gzip layers (an OCI layout, as pushed)."""
    found = json.loads(_run(env, "buildah", "inspect", "--type", "image", image))
    uncompressed = sum(layer["size"] for layer in json.loads(found["Manifest"])["layers"])
    layout = scratch / "oci"
    _run(env, "buildah", "push", "--quiet", image, f"oci:{layout}")
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
    return uncompressed, sum(layer["size"] for layer in manifest["layers"])


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("the image benchmark needs root (buildah --isolation chroot, debootstrap)")
    scratch = Path(tempfile.mkdtemp(prefix="image-bench-"))
    storage = scratch / "storage.conf"
    storage.write_text(
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{scratch / "graph"}"\n'
        f'runroot = "{scratch / "run"}"\n'
    )
    env = {
        **os.environ,
        "CONTAINERS_STORAGE_CONF": str(storage),
        "SIMPLISMART_CACHE_DIR": str(scratch / "cache"),
    }
    graph_root = json.loads(_run(env, "buildah", "info"))["store"]["GraphRoot"]
    if Path(graph_root) != scratch / "graph":
        raise SystemExit(f"buildah ignored CONTAINERS_STORAGE_CONF (store {graph_root}): stopping")
    try:
        cold, image = _timed_build(env)
        warm, _ = _timed_build(env)
        uncompressed, compressed = _sizes(env, image, scratch)
    finally:
        subprocess.run(["buildah", "rm", "--all"], env=env, check=False, capture_output=True)
        subprocess.run(["buildah", "umount", "--all"], env=env, check=False, capture_output=True)
        subprocess.run(
            ["buildah", "rmi", "--all", "--force"], env=env, check=False, capture_output=True
        )
        shutil.rmtree(scratch, ignore_errors=True)
    rows = [
        ("cold `make image` (debootstrap + build)", f"{cold:.0f} s", TARGETS["cold"]),
        ("warm `make image` (inputs unchanged)", f"{warm:.1f} s", TARGETS["warm"]),
        ("image size, uncompressed layers", f"{uncompressed / MB:.0f} MB", TARGETS["size"]),
        ("image size, gzip layers (as pushed)", f"{compressed / MB:.0f} MB", ""),
    ]
    table = "\n".join(
        ["| measure | result | target |", "| --- | --- | --- |"]
        + [f"| {what} | {result} | {target} |" for what, result, target in rows]
    )
    load = os.getloadavg()[0]
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average at the end {load:.1f}"
    )
    text = (
        "# `make image` benchmark\n\n"
        "`python bench/image_bench.py` (as root): hack/image.sh against an empty buildah store\n"
        "and tool cache of its own, then again with nothing changed. The uv download cache of\n"
        "buildah's cache mounts is the machine's, so the cold run may reuse wheels.\n\n"
        f"Machine: {machine}.\n\n{table}\n"
    )
    print(table)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
