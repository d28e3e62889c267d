"""Prometheus metrics of the operator, served on its own port (SIMPLISMART_METRICS_PORT)."""

from contextlib import suppress

from prometheus_client import Counter, Gauge, Histogram

from simplismart.crds import Resources

CLUSTER_LABELS = ("namespace", "cluster")

queue_depth = Gauge(
    "simplismart_queue_depth", "Deployments waiting in the cluster's queue.", CLUSTER_LABELS
)
running = Gauge("simplismart_running", "Deployments running on the cluster.", CLUSTER_LABELS)
capacity = Gauge(
    "simplismart_capacity", "Total capacity per resource.", (*CLUSTER_LABELS, "resource")
)
allocated = Gauge(
    "simplismart_allocated",
    "Capacity held by running deployments, per resource.",
    (*CLUSTER_LABELS, "resource"),
)
pass_seconds = Histogram(
    "simplismart_pass_seconds",
    "Duration of a scheduling pass, from the first read to the last write.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
solver_seconds = Histogram(
    "simplismart_solver_seconds",
    "Time the scheduler took to choose, by the strategy that ran.",
    ("strategy",),
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5),
)
admissions = Counter(
    "simplismart_admissions_total", "Deployments started (Queued to Running).", CLUSTER_LABELS
)
run_ends = Counter(
    "simplismart_run_ends_total", "Runs ended (Running to Succeeded).", CLUSTER_LABELS
)
preemptions = Counter(
    "simplismart_preemptions_total",
    "Running deployments evicted (Running to Queued) to make room for HIGH ones.",
    CLUSTER_LABELS,
)
deletions = Counter(
    "simplismart_finished_deleted_total",
    "Finished deployments deleted when their ttlSecondsAfterFinished passed.",
)
events_dropped = Counter(
    "simplismart_events_dropped_total",
    "Kubernetes Events not posted: over their object's rate limit or the queue was full.",
)
leader = Gauge("simplismart_leader", "1 while this replica holds the leadership Lease.")

_PER_CLUSTER = (queue_depth, running, admissions, run_ends, preemptions)
_PER_RESOURCE = (capacity, allocated)


def report_cluster(
    namespace: str, cluster: str, queued: int, runs: int, total: Resources, held: Resources
) -> None:
    queue_depth.labels(namespace, cluster).set(queued)
    running.labels(namespace, cluster).set(runs)
    for resource, amount in total.as_dict().items():
        capacity.labels(namespace, cluster, resource).set(amount)
        allocated.labels(namespace, cluster, resource).set(held.as_dict()[resource])


def forget_cluster(namespace: str, cluster: str) -> None:
    """Remove a deleted cluster's series, so that they do not report it for ever."""
    for metric in _PER_CLUSTER:
        with suppress(KeyError):
            metric.remove(namespace, cluster)
    for resource in ("cpu", "ram", "gpu"):
        for gauge in _PER_RESOURCE:
            with suppress(KeyError):
                gauge.remove(namespace, cluster, resource)
