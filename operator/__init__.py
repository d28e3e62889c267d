"""The Simplismart operator: reconciles Clusters and Deployments, runs the scheduling passes.

Run it with ``python -m simplismart.operator``. Its parts, from the outside in: ``handlers``
(kopf watch events → pass requests), ``coordinator`` (one pass at a time per cluster),
``passes`` (read, decide with ``planning`` and the scheduler, write), ``runs`` (the end of a run
by expiry event, poller or reconcile) and ``leases`` (what Redis holds, all rebuildable).
"""
