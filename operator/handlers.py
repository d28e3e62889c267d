"""kopf handlers: turn watch events into store updates and scheduling-pass requests.

Handlers are level-triggered and write nothing themselves; the pass reads the whole cluster and
converges. Only creations, spec changes (a new generation) and deletions request a pass: the
operator's own status writes would otherwise wake it up again for nothing.
"""

import gc
import logging
from typing import Any
from urllib.parse import urlsplit

import kopf

from simplismart.crds import CLUSTER, DEPLOYMENT, Phase
from simplismart.operator.config import OperatorConfig
from simplismart.operator.leases import RunId
from simplismart.operator.objects import ClusterRef, DeploymentObject
from simplismart.operator.runtime import OperatorMemo, Runtime

logger = logging.getLogger(__name__)


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: OperatorMemo, **_: Any) -> None:
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
    memo.runtime.start(memo.stop)
    # What is loaded by now (kopf, the clients, the solvers: some 100,000 objects) lives as
    # long as the process. Frozen, the cyclic collector's full passes skip it: under load they
    # ran every few seconds and stopped the event loop for 145 ms at the median, 62 ms after.
    gc.collect()
    gc.freeze()
    leading = "standalone" if config.standalone else f"Lease {config.lease_name}"
    # The URL may carry Redis's password (the chart's does): log only where it points.
    redis = urlsplit(config.redis_url)
    logger.info("operator started: redis %s:%s, %s", redis.hostname, redis.port, leading)


@kopf.on.cleanup()
async def stop(memo: OperatorMemo, **_: Any) -> None:
    await memo.runtime.close()


def _changed(memo: OperatorMemo, meta: kopf.Meta, cluster: ClusterRef) -> bool:
    """Record what an object asks for now; True on a creation or a spec change.

    When a deployment moved to another cluster, the one it left gets a pass too.
    """
    state = (meta.get("generation", 0), cluster)
    previous = memo.seen.get(meta["uid"])
    memo.seen[meta["uid"]] = state
    if previous is not None and previous[1] != cluster:
        memo.runtime.wake(previous[1])
    return previous != state


# Handlers are coroutines: kopf runs plain functions in a thread, where no event loop runs.
@kopf.on.event(CLUSTER.group, CLUSTER.version, CLUSTER.plural)
async def cluster_event(
    event: kopf.RawEvent, meta: kopf.Meta, namespace: str | None, name: str, memo: OperatorMemo,
    **_: Any,
) -> None:  # fmt: skip
    assert namespace, "Clusters are namespaced"
    ref = ClusterRef(namespace, name)
    if event["type"] == "DELETED":
        memo.seen.pop(meta["uid"], None)
    elif not _changed(memo, meta, ref):
        return
    memo.runtime.store.invalidate(ref)  # the next pass reads the new spec
    memo.runtime.wake(ref)


@kopf.on.event(DEPLOYMENT.group, DEPLOYMENT.version, DEPLOYMENT.plural)
async def deployment_event(
    event: kopf.RawEvent, body: kopf.Body, meta: kopf.Meta, memo: OperatorMemo, **_: Any
) -> None:
    deployment = DeploymentObject.from_body(body)
    runtime: Runtime = memo.runtime
    if event["type"] == "DELETED":
        memo.seen.pop(deployment.uid, None)
        runtime.store.observe(deployment, deleted=True)
        runtime.reaper.forget(deployment.uid)
        if deployment.phase == Phase.SUCCEEDED:
            # It held nothing and no pass counts it: deleting a namespace of a thousand finished
            # deployments must not cost a thousand passes (and their reads of a gone cluster).
            return
        run = RunId(deployment.namespace, deployment.spec.cluster, deployment.name, deployment.uid)
        await runtime.cancel(run)
        return
    runtime.store.observe(deployment)
    if deployment.phase == Phase.SUCCEEDED:
        # Finished: nothing to schedule, only (perhaps) a deletion to time.
        memo.seen.pop(deployment.uid, None)
        if deployment.status.retained_until is not None:
            runtime.reaper.schedule(
                deployment.namespace,
                deployment.name,
                deployment.uid,
                deployment.status.retained_until,
            )
        return
    if _changed(memo, meta, ClusterRef(deployment.namespace, deployment.spec.cluster)):
        runtime.wake(ClusterRef(deployment.namespace, deployment.spec.cluster))
