"""Prometheus metrics of the operator, served on its own port (SIMPLISMART_METRICS_PORT)."""

from prometheus_client import Counter, Gauge, Histogram

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
    "simplismart_run_ends_total",
    "Runs ended, by the path that won the claim: event, poller or reconcile.",
    ("path",),
)
events_dropped = Counter(
    "simplismart_events_dropped_total",
    "Kubernetes Events not posted: over the rate limit or the queue was full.",
)
