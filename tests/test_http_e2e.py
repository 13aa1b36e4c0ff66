"""End to end over a real uvicorn server on loopback (``ledger serve``): commands in,
the same figures out as the CLI, read-your-writes across worker processes."""

from __future__ import annotations

import httpx

from entrypoints.http.server import serving
from tests import builders as b


def test_a_real_server_takes_commands_and_answers_the_clis_figures(ledger):
    admin = ledger.cli_json("token", "create", "--role", "admin")["token"]
    billing = ledger.cli_json("token", "create", "--role", "billing")["token"]
    finance = ledger.cli_json("token", "create", "--role", "finance")["token"]
    with serving(ledger.url, workers=2) as base, httpx.Client(base_url=base, timeout=30) as client:
        def send(token, body):
            response = client.post("/v1/commands", json=body, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
            return response.json()

        send(admin, [b.program(), *b.partner("p1")])
        answer = send(billing, [*b.customer("c1", "p1"), b.payment("pay1", "c1")])
        assert answer["rejected"] == 0
        read = client.get("/v1/partners/p1/balance", params={"min_position": answer["position"]},
                          headers={"Authorization": f"Bearer {finance}"})
        assert read.status_code == 200
        assert read.json() == ledger.cli_json("balance", "p1")
        assert client.get("/healthz").json()["behind"] == 0
        assert client.get("/v1/partners/p1/balance").status_code == 401
