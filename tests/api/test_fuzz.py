"""schemathesis against the live service's /openapi.json: every operation, a bounded number of generated requests each.

No 5xx, and every response has a documented status code, content type, headers and a body matching its schema.
The writes run with the token, so the document routes are exercised past authentication.
(schemathesis' own pytest plugin fails to collect under pytest 9, so the operations are driven here with hypothesis.)
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, checks
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.openapi import from_url

from tests.live_service import report_figure, start_service

TOKEN = "fuzz-test-token"
EXAMPLES_PER_OPERATION = 40
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def fuzz(operation: APIOperation, url: str, mode: GenerationMode) -> int:
    """Send up to EXAMPLES_PER_OPERATION generated requests to one operation, checking each answer; returns how many.

    Positive requests fit the schema; negative ones break it somewhere (and must be refused with a documented 4xx).
    """
    calls = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples every run: CI is reproducible, a failure can be rerun
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Case) -> None:
        nonlocal calls
        calls += 1
        case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS, timeout=60)

    call()
    return calls


@pytest.mark.slow
def test_every_operation_answers_within_its_schema(tmp_path: Path) -> None:
    service = start_service(tmp_path, {"QA_ADMIN_TOKEN": TOKEN}, fast=True)
    calls: dict[str, int] = {}
    failures: dict[str, str] = {}
    impossible: list[str] = []
    try:
        for result in from_url(service.url + "/openapi.json").get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                label = f"{operation.label} ({mode.value})"
                try:
                    calls[label] = fuzz(operation, service.url, mode)
                except Unsatisfiable:  # no input breaks the schema (asserted below)
                    assert mode is GenerationMode.NEGATIVE, label
                    impossible.append(label)
                except (Failure, FailureGroup, AssertionError) as error:
                    failures[label] = str(error)[:3000]
    finally:
        service.stop()
    report_figure(
        f"schemathesis: {len({label.split(' (')[0] for label in [*calls, *failures]})} operations, positive and"
        f" negative, {sum(calls.values())} generated requests in the passing runs (at most {EXAMPLES_PER_OPERATION}"
        f" per operation and mode), {len(failures)} failing runs"
    )
    assert failures == {}, "\n\n".join(f"{label}:\n{message}" for label, message in failures.items())
    assert len(calls) + len(impossible) == 2 * 11, sorted(calls)
    # Any string is a valid id, and these take nothing else: no request can break their schema.
    assert sorted(impossible) == [
        f"{route} (negative)"
        for route in (
            "GET /documents",
            "GET /documents/{document_id}",
            "GET /health",
            "GET /v1/models",
            "GET /v1/models/{model_id}",
        )
    ]
