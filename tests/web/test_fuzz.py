"""The API never answers 500, whatever a client sends within or outside the schema:
schemathesis generates valid and invalid requests from /openapi.json and runs them in-process,
as an admin (so every route's own checks are reached)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from jikimi.web.app import create_app
from jikimi.web.service import Service

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_makes_the_service_fail(
    service: Service, tokens: dict[str, str], mode: GenerationMode
) -> None:
    service.ws.banks.create("b1", actor="tester")
    service.refresh_matcher(force=True)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(service, start=False))
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    failures: list[tuple[str, str, int]] = []
    skipped = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, response.status_code))

        try:
            call()
        except Unsatisfiable:  # nothing to get wrong (no parameters, no body): nothing to try
            assert mode is GenerationMode.NEGATIVE
            skipped += 1
    assert failures == []
    assert skipped < len(operations) // 2
