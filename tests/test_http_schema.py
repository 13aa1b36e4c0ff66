"""schemathesis against /openapi.json, in-process: for every operation, generated
requests (valid and invalid) never cause a 5xx, and every response matches the schema
(status, content type, body). Bounded examples keep it fast.

(schemathesis' pytest plugin does not run on this pytest, so the test drives its
strategies with hypothesis directly, one operation after another.)"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from tests import builders as b
from tests.builders import TERMS, close

EXAMPLES = 10


@schemathesis.serializer("application/x-ndjson")
def _json_lines(context: Any, value: Any) -> bytes:
    """JSON Lines bodies as a client sends them (a generated string as is; anything
    else, invalid on purpose, as its JSON)."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


def _seed(http: Any) -> None:
    http.driver.ok(
        b.program(terms={**TERMS, "promo": {"rate": "0.50", "slots": 5}}), *b.partner("p1"), *b.customer("c1", "p1"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )


def _exercise(operation: Any, mode: GenerationMode) -> None:
    # A schema cannot say everything the ledger checks (a command's ``terms`` or
    # ``preset``, decimal places per currency, a real calendar month, a cursor this
    # listing handed out): a schema-valid request may still be refused with 422. Every
    # other check stands: no 5xx, every response as documented, invalid input refused.
    excluded = [checks.positive_data_acceptance]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(excluded_checks=excluded)

    run()


def test_every_operation_answers_within_its_schema(http):
    _seed(http)
    schema = schemathesis.openapi.from_asgi("/openapi.json", http.app)
    token = http.token("admin")

    @schema.auth.auth(refresh_interval=None)
    class Bearer:  # applied by schemathesis, so its negative cases can leave it out
        def get(self, case: Any, context: Any) -> str:
            return token

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _exercise(operation, mode)
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as failure:  # collect them all: one report names every bad operation
                failures.append(f"{operation.label} ({mode.value}): {_describe(failure)}"[:3000])
    assert operations >= 15
    assert failures == [], "\n\n".join(failures)


def _describe(failure: BaseException) -> str:
    if isinstance(failure, BaseExceptionGroup):
        return "\n".join(_describe(inner) for inner in failure.exceptions)
    return f"{type(failure).__name__}: {failure}"
