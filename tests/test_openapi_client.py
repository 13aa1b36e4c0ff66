"""An outside generator (openapi-python-client) turns /openapi.json into a Python client
without dropping anything: every model has a name of its own, every operation a readable,
unique id, and the generated package holds a function per operation and a class per model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from entrypoints.http.app import operation_id

# The one warning allowed: the command route also takes JSON Lines (a plain text body), which
# the generator cannot type; it still generates the route's JSON body.
ALLOWED = ("Unsupported content type application/x-ndjson",)


def test_operation_ids_read_as_the_route_says():
    assert operation_id("get", "/v1/partners/{partner_id}/balance") == "getPartnerBalance"
    assert operation_id("get", "/v1/partners/{partner_id}/statements/{period}.csv") == "getPartnerStatementCsv"
    assert operation_id("get", "/v1/partners") == "getPartners"
    assert operation_id("get", "/v1/payouts/due.csv") == "getPayoutsDueCsv"
    assert operation_id("post", "/v1/snapshots") == "postSnapshots"


def test_models_have_unique_names_and_operations_unique_readable_ids(http):
    document = http.get("/openapi.json").json()
    titles = [schema.get("title", name) for name, schema in document["components"]["schemas"].items()]
    assert sorted({t for t in titles if titles.count(t) > 1}) == [], "two models with one name: a generator drops one"
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", i) for i in ids), ids
    assert document["paths"]["/v1/partners/{partner_id}/balance"]["get"]["operationId"] == "getPartnerBalance"


def test_openapi_python_client_generates_everything(http, tmp_path: Path):
    document = http.get("/openapi.json").json()
    spec, out, config = tmp_path / "openapi.json", tmp_path / "client", tmp_path / "config.yml"
    spec.write_text(json.dumps(document))
    config.write_text("post_hooks: []\n")  # no formatter run: the test checks what is generated, not its style
    generator = Path(sys.executable).with_name("openapi-python-client")
    ran = subprocess.run([str(generator), "generate", "--path", str(spec), "--output-path", str(out), "--meta", "none",
                          "--config", str(config)], capture_output=True, text=True, timeout=300, check=False)
    report = ran.stdout + ran.stderr
    assert ran.returncode == 0, report
    for problem in ("Unable to", "removal of", "duplicate", "Failure"):
        assert problem not in report, report
    warnings = re.findall(r"^WARNING parsing .*?\n\n(.+?)\n", report, flags=re.M)
    assert [w for w in warnings if w not in ALLOWED] == [], report

    functions = {p.stem for p in (out / "api").rglob("*.py") if p.stem != "__init__"}
    expected = {_snake(op["operationId"]) for ops in document["paths"].values() for op in ops.values()}
    assert expected - functions == set(), "operations the client lacks"
    models = (out / "models").read_text() if (out / "models").is_file() else \
        "\n".join(p.read_text() for p in (out / "models").glob("*.py"))
    for name, schema in document["components"]["schemas"].items():
        if schema.get("type") == "object" or "properties" in schema:
            assert f"class {_class(schema.get('title', name))}" in models, f"model {name} was dropped"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _class(title: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", title) if part)
