"""kopf handlers: turn watch events into scheduling-pass requests.

Handlers are level-triggered and write nothing themselves; the pass reads the whole cluster and
converges. Only spec changes (a new generation), creations and deletions request a pass: the
operator's own status writes would otherwise wake it up again for nothing.
"""

import logging
from typing import Any

import kopf

from simplismart.crds import CLUSTER, DEPLOYMENT
from simplismart.operator.config import OperatorConfig
from simplismart.operator.leases import RunId
from simplismart.operator.objects import ClusterRef
from simplismart.operator.runtime import Runtime

logger = logging.getLogger(__name__)


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config = OperatorConfig.from_env()
    # Keep kopf's bookkeeping out of our objects: event handlers need no diff-base or progress.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="simplismart.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="simplismart.io")
    # kopf would post an Event for each of its own log lines: we post the meaningful ones.
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 30
    memo.runtime = Runtime.build(config)
    memo.seen = {}
    memo.runtime.start()
    logger.info("operator started: redis %s, poll %.1fs", config.redis_url, config.poll_interval)


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    await memo.runtime.close()


def _observe(memo: Any, meta: kopf.Meta, cluster: ClusterRef) -> ClusterRef | None:
    """Record what an object asks for now; return the cluster a pass is due for, if any.

    A pass is due on a creation or a new generation (a spec change), not on the status-only
    changes the operator itself writes. The previous cluster is returned too when it changed.
    """
    seen: dict[str, tuple[int, ClusterRef]] = memo.seen
    state = (meta.get("generation", 0), cluster)
    previous = seen.get(meta["uid"])
    seen[meta["uid"]] = state
    if previous == state:
        return None
    if previous is not None and previous[1] != cluster:
        memo.runtime.passes.request(previous[1])
    return cluster


# Handlers are coroutines: kopf runs plain functions in a thread, where no event loop runs.
@kopf.on.event(CLUSTER.group, CLUSTER.version, CLUSTER.plural)
async def cluster_event(
    event: kopf.RawEvent, meta: kopf.Meta, namespace: str | None, name: str, memo: Any, **_: Any
) -> None:
    assert namespace, "Clusters are namespaced"
    ref = ClusterRef(namespace, name)
    if event["type"] == "DELETED":
        memo.seen.pop(meta["uid"], None)
    elif not _observe(memo, meta, ref):
        return
    memo.runtime.store.invalidate(ref)  # the next pass reads the new spec
    memo.runtime.passes.request(ref)


@kopf.on.event(DEPLOYMENT.group, DEPLOYMENT.version, DEPLOYMENT.plural)
async def deployment_event(
    event: kopf.RawEvent,
    body: kopf.Body,
    meta: kopf.Meta,
    spec: kopf.Spec,
    namespace: str | None,
    name: str,
    memo: Any,
    **_: Any,
) -> None:
    assert namespace, "Deployments are namespaced"
    cluster = ClusterRef(namespace, spec["cluster"])
    if event["type"] == "DELETED":
        memo.seen.pop(meta["uid"], None)
        await memo.runtime.cancel(RunId(namespace, name, meta["uid"]), cluster)
        return
    memo.runtime.store.observe(body)
    if _observe(memo, meta, cluster):
        memo.runtime.passes.request(cluster)
