"""Property-based run over the OpenAPI document with valid tokens: no 5xx, and every response
(status code, content type and body) matches what the document promises."""

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.api.support import Api

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Kept small: this is a conformance sweep, not a fuzzing campaign.
EXAMPLES_PER_OPERATION = 8


def conformance_test(operation: Any, headers: dict[str, str]) -> Callable[[], None]:
    # A 503 from /readyz is its documented answer when a dependency is down (no Redis in the
    # unit tier); everywhere else a 5xx is a bug.
    checks = CHECKS[1:] if operation.path == "/readyz" else CHECKS

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: schemathesis.Case[Any]) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks)

    return conforms


def test_every_operation_conforms_to_the_schema(api: Api) -> None:
    org = api.organization()
    api.cluster(org.developer, "c1")
    api.deployment(org.developer, "d1", "c1")
    assert isinstance(api.client, TestClient)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 15
    # The event stream never ends by itself; tests/api/test_events.py covers it over HTTP.
    operations = [operation for operation in operations if operation.path != "/events"]
    for operation in operations:
        conformance_test(operation, org.developer.headers)()
