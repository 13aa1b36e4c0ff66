"""schemathesis against /openapi.json, in-process: for every operation, generated
requests (valid and invalid) never cause a 5xx, and every response matches the schema
(status, content type, body). Bounded examples keep it fast.

(schemathesis' pytest plugin does not run on this pytest, so the test drives its
strategies with hypothesis directly, one operation after another.)"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from tests import builders as b
from tests.test_statements import TERMS, close

EXAMPLES = 10


def _seed(http: Any) -> None:
    http.driver.ok(
        b.program(terms={**TERMS, "promo": {"rate": "0.50", "slots": 5}}), *b.partner("p1"), *b.customer("c1", "p1"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )


def _exercise(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    # A command's schema cannot say everything its model checks (``terms`` or ``preset``,
    # decimal places per currency): a schema-valid command may still be refused with 422.
    excluded = [checks.positive_data_acceptance] if operation.path == "/v1/commands" else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    run()


def test_every_operation_answers_within_its_schema(http):
    _seed(http)
    schema = schemathesis.openapi.from_asgi("/openapi.json", http.app)
    headers = {"Authorization": f"Bearer {http.token('admin')}"}
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _exercise(operation, mode, headers)
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as failure:  # collect them all: one report names every bad operation
                failures.append(f"{operation.label} ({mode.value}): {failure}"[:2000])
    assert operations >= 15
    assert failures == [], "\n\n".join(failures)
