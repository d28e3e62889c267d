"""The Python models and the CRD YAML describe the same fields, defaults and bounds."""

import types
from enum import Enum
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from simplismart.crds import (
    ClusterSpec,
    ClusterStatus,
    DeploymentSpec,
    DeploymentStatus,
    crd_documents,
)

pytestmark = pytest.mark.unit


def _schema(plural: str) -> dict[str, Any]:
    crd = next(d for d in crd_documents() if d["metadata"]["name"] == f"{plural}.simplismart.io")
    (version,) = crd["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {(field.alias or name): field for name, field in model.model_fields.items()}


def _inner(annotation: Any) -> Any:
    """``X | None`` → ``X``: optional fields are described once in the schema."""
    if isinstance(annotation, types.UnionType):
        (inner,) = [a for a in get_args(annotation) if a is not type(None)]
        return inner
    return annotation


def _compare(model: type[BaseModel], schema: dict[str, Any], path: str) -> None:
    fields = _fields(model)
    properties = schema.get("properties", {})
    assert set(fields) == set(properties), f"{path}: fields differ"
    required = {alias for alias, field in fields.items() if field.is_required()}
    assert required == set(schema.get("required", [])), f"{path}: required fields differ"
    for alias, field in fields.items():
        prop = properties[alias]
        annotation = _inner(field.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _compare(annotation, prop, f"{path}.{alias}")
        if "default" in prop and not isinstance(prop["default"], dict):
            assert field.default == prop["default"], f"{path}.{alias}: default differs"
        if "enum" in prop:
            assert isinstance(annotation, type), path
            assert issubclass(annotation, Enum), path
            values = {member.value for member in annotation}
            assert values == set(prop["enum"]), f"{path}.{alias}: enum differs"


@pytest.mark.parametrize(
    ("plural", "spec", "status"),
    [
        ("clusters", ClusterSpec, ClusterStatus),
        ("deployments", DeploymentSpec, DeploymentStatus),
    ],
)
def test_models_agree_with_crd(plural: str, spec: type[BaseModel], status: type[BaseModel]) -> None:
    schema = _schema(plural)
    _compare(spec, schema["properties"]["spec"], "spec")
    _compare(status, schema["properties"]["status"], "status")


def test_defaults_round_trip() -> None:
    spec = ClusterSpec.model_validate({"resources": {"cpu": 1, "ram": 2, "gpu": 0}})
    assert spec.to_wire()["scheduling"] == {
        "strategy": "auto",
        "agingSeconds": 600,
        "runDuration": {"minSeconds": 20, "maxSeconds": 30},
        "reservations": 1,
        "preemption": "Never",
        "maxPreemptions": 3,
    }


def test_fields_a_newer_version_adds_are_ignored() -> None:
    # What a newer CRD stores, defaults included, read by this version during an upgrade.
    spec = ClusterSpec.model_validate(
        {
            "resources": {"cpu": 8, "ram": 16, "gpu": 0, "tpu": 4},
            "scheduling": {"reservations": 2, "fairShare": {"weight": 3}},
            "quota": "team-a",
        }
    )
    assert (spec.resources.cpu, spec.scheduling.reservations) == (8, 2)
    status = DeploymentStatus.model_validate({"phase": "Queued", "queuePosition": 3, "tier": 1})
    assert status.queue_position == 3
    deployment = DeploymentSpec.model_validate(
        {
            "cluster": "pool",
            "resources": {"cpu": 1, "ram": 1, "gpu": 0},
            "image": "registry.example/model:1",
            "tolerations": [],
        }
    )
    assert deployment.cluster == "pool"
