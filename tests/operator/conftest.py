"""An operator process and a fresh namespace per test, against the real API server and Redis."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.kube import Namespace, api_client
from harness.monitor import InvariantMonitor
from harness.processes import OperatorProcess
from kubernetes import client


@pytest.fixture(scope="module")
def kube(kubeconfig: str) -> client.ApiClient:
    return api_client(kubeconfig)


@pytest.fixture
def namespace(kube: client.ApiClient) -> Iterator[Namespace]:
    space = Namespace(kube)
    yield space
    space.delete()


@pytest.fixture
def monitor(kube: client.ApiClient, namespace: Namespace) -> Iterator[InvariantMonitor]:
    with InvariantMonitor(kube, namespace.name) as watching:
        yield watching
    watching.assert_clean()


@pytest.fixture(scope="module")
def operator(
    kubeconfig: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log = Path(tmp_path_factory.mktemp("operator")) / "operator.log"
    with OperatorProcess(kubeconfig, redis_url, log) as process:
        yield process
