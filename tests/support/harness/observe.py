"""What benchmarks observe of the operator from outside: a watch on the custom resources, a
process's memory and CPU, and the operator's Prometheus counters.

Everything is seen as a client would see it (a watch, /proc, the metrics port), never from the
operator's insides, so the figures hold for the process as deployed.
"""

import os
import re
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from harness.kube import as_json
from simplismart.crds import ResourceKind

#: One sample line of the Prometheus text format: name, optional labels, value.
_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)"
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


@dataclass
class Deletion:
    """A deleted object as the watch last saw it, how many times the watch saw it become
    Running, and when the deletion arrived."""

    status: dict[str, Any]
    starts: int
    seen_at: float

    @property
    def phase(self) -> str | None:
        phase: str | None = self.status.get("phase")
        return phase


@dataclass
class KindWatch:
    """Watches one kind in one namespace from a background thread, re-listing if the watch
    falls too far behind (410 Gone), and keeps the figures the benchmarks report.

    ``modified`` counts MODIFIED events: every one is a write to the object (for Deployments
    nobody but the operator writes after creation, so these are its status writes).
    """

    api: client.ApiClient
    kind: ResourceKind
    namespace: str
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    running_seen: dict[str, float] = field(default_factory=dict)
    modified: int = 0
    modified_times: list[float] = field(default_factory=list)
    deleted: dict[str, Deletion] = field(default_factory=dict)
    relists: int = 0
    starts: dict[str, int] = field(default_factory=dict)
    """Times the watch saw each live object become Running."""
    _listed: threading.Event = field(default_factory=threading.Event)
    _done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "KindWatch":
        """Start watching; returns once the first LIST is in, so no later write is missed."""
        threading.Thread(target=self._run, daemon=True).start()
        if not self._listed.wait(timeout=60):
            raise RuntimeError(f"the watch on {self.kind.plural} did not start")
        return self

    def stop(self) -> None:
        self._done.set()

    def _list(self) -> str:
        listed = as_json(
            client.CustomObjectsApi(self.api).list_namespaced_custom_object(
                self.kind.group, self.kind.version, self.namespace, self.kind.plural
            )
        )
        for body in listed["items"]:
            self._record("ADDED", body)
        version: str = listed["metadata"]["resourceVersion"]
        return version

    def _run(self) -> None:
        custom = client.CustomObjectsApi(self.api)
        version = self._list()
        self._listed.set()
        while not self._done.is_set():
            try:
                for event in watch.Watch().stream(  # type: ignore[no-untyped-call]
                    custom.list_namespaced_custom_object,
                    self.kind.group, self.kind.version, self.namespace, self.kind.plural,
                    resource_version=version, timeout_seconds=5,
                ):  # fmt: skip
                    version = event["object"]["metadata"]["resourceVersion"]
                    self._record(event["type"], event["object"])
            except ApiException as error:
                if error.status != 410:
                    raise
                # Compacted past our version: events in the gap are lost, so say so.
                self.relists += 1
                version = self._list()

    def _record(self, kind: str, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        phase = (body.get("status") or {}).get("phase")
        if kind == "DELETED":
            self.bodies.pop(name, None)
            status = body.get("status") or {}
            self.deleted[name] = Deletion(status, self.starts.pop(name, 0), time.time())
            return
        now = time.time()
        if kind == "MODIFIED":
            self.modified += 1
            self.modified_times.append(now)
        previous = (self.bodies.get(name, {}).get("status") or {}).get("phase")
        self.bodies[name] = body
        if phase == "Running" and previous != "Running":
            self.starts[name] = self.starts.get(name, 0) + 1
            self.running_seen.setdefault(name, now)


@dataclass(frozen=True)
class ProcessFigures:
    """A process's memory and CPU from /proc: resident now, peak resident, CPU seconds used."""

    rss_kib: int
    peak_kib: int
    cpu_seconds: float


def process_figures(pid: int) -> ProcessFigures:
    memory = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            memory[key] = int(value.split()[0])
    # utime and stime, fields 14 and 15, in clock ticks; the name (field 2) may hold spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])
    return ProcessFigures(memory["VmRSS"], memory["VmHWM"], ticks / os.sysconf("SC_CLK_TCK"))


def scrape(port: int, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    total = 0.0
    for line in text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None or sample["name"] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample["labels"] or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            total += float(sample["value"])
    return total
