"""The CRD manifests shipped inside the package, for ``kubectl apply``, the chart and tests."""

from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml

_FILES = ("clusters.yaml", "deployments.yaml")


def crd_paths() -> list[Traversable]:
    package = resources.files(__package__)
    return [package / name for name in _FILES]


def crd_documents() -> Iterator[dict[str, Any]]:
    """Every CustomResourceDefinition document, parsed."""
    for path in crd_paths():
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield document
