"""The server's frame: health, problems (RFC 9457), limits, security headers, docs
served without a CDN, and ``ledger serve`` on a real uvicorn."""

from __future__ import annotations

import re

from tests import builders as b


def test_healthz_reports_the_log_and_read_model_positions(http):
    http.driver.ok(b.program(), *b.partner("p1"))
    health = http.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["log_position"] == http.driver.event_count() > 0
    assert set(health["read_models"].values()) == {health["log_position"]}
    assert health["behind"] == 0


def test_unknown_routes_and_methods_are_problems(http):
    missing = http.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    body = missing.json()
    assert body["status"] == 404 and body["code"] == "not_found" and body["errors"][0]["code"] == "not_found"
    wrong_method = http.request("DELETE", "/healthz")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"


def test_an_oversized_body_is_refused_before_it_is_read(http):
    limit = http.driver.app.settings.http_max_body_bytes
    response = http.post("/signin", content=b"t" * (limit + 1), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_every_response_carries_a_content_security_policy(http):
    for path in ("/", "/signin", "/healthz", "/openapi.json", "/docs", "/no/such/page", "/static/app.css"):
        response = http.get(path)
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_docs_load_every_asset_from_the_app_itself(http):
    page = http.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by the app"
        assert http.get(asset).status_code == 200, asset
    assert "'unsafe-inline'" not in page.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    assert http.get("/openapi.json").json()["info"]["title"] == "Commission ledger"
