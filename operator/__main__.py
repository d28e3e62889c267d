"""``python -m simplismart.operator``: run the operator until interrupted."""

import asyncio
import logging
import sys

import kopf
from prometheus_client import start_http_server

import simplismart.operator.handlers  # noqa: F401  (importing registers the handlers with kopf)
from simplismart.operator.config import ConfigError, OperatorConfig
from simplismart.operator.runtime import OperatorMemo


def main() -> int:
    try:
        config = OperatorConfig.from_env()
    except ConfigError as error:
        print(f"simplismart-operator: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # One line per watch event and handler call: too much at a thousand deployments.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    # The Kubernetes client retries a refused connection three times, and urllib3 logs each
    # retry: three lines before the failure that we log once, with what it means.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    if config.metrics_port:
        start_http_server(config.metrics_port)
    # An asyncio flag: kopf waits for a threading.Event in a worker thread that nothing wakes
    # on a normal stop, and the process then hung on exit (its executor waits for the thread).
    stop = asyncio.Event()
    kopf.run(
        clusterwide=not config.namespaces,
        namespaces=config.namespaces,
        # Every replica watches; our leadership Lease, not kopf's peering, decides who writes.
        standalone=True,
        memo=OperatorMemo(stop=stop),
        stop_flag=stop,
        liveness_endpoint=f"http://0.0.0.0:{config.health_port}/healthz"
        if config.health_port
        else None,
    )
    if stop.is_set():
        print("simplismart-operator: stopped after a failure (see the log)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
