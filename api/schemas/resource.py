"""Reading custom resources the operator may have written in a newer or broken shape."""

import logging
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from simplismart.crds import parse_time

log = logging.getLogger(__name__)

StatusModel = TypeVar("StatusModel", bound=BaseModel)


def read_status(resource: dict[str, Any], model: type[StatusModel]) -> StatusModel | None:
    """The resource's status as ``model``, ignoring fields this API does not know.

    A status this API cannot read is reported as absent (and logged) rather than failing the
    request: status belongs to the operator, and reads must keep working across its upgrades.
    """
    status = resource.get("status")
    if not status:
        return None
    known = {field.alias or name for name, field in model.model_fields.items()}
    try:
        return model.model_validate({k: v for k, v in status.items() if k in known})
    except ValidationError as error:
        name = resource["metadata"]["name"]
        log.warning("unreadable status of %s %s: %s", resource.get("kind"), name, error)
        return None


def identity(resource: dict[str, Any]) -> dict[str, Any]:
    """The fields every object reply starts with: id (the object's uid), name, creation time."""
    metadata = resource["metadata"]
    created = metadata.get("creationTimestamp")
    return {
        "id": metadata.get("uid", ""),
        "name": metadata["name"],
        "created_at": parse_time(created) if created else None,
    }
