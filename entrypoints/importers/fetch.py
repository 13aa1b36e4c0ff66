"""Fetch a platform's records straight from its API with the program's key: every page of
each resource's list endpoint, the same JSON a saved file holds, mapped the same way."""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from entrypoints.importers.mapping import Platform, Resource, Row, rows_of

log = structlog.get_logger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 10_000  # a platform that never says "no more" cannot keep the import running forever


class FetchError(RuntimeError):
    pass


def fetch_all(platform: Platform, api_key: str, base_url: str | None = None, timeout: float = 30.0) -> dict[str, list[Row]]:
    """Every resource's rows, by resource name. The key is never logged."""
    with httpx.Client(base_url=base_url or platform.api_base, timeout=timeout, auth=_auth(platform, api_key),
                      headers=_headers(platform, api_key)) as client:
        return {resource.name: _pages(client, platform, resource) for resource in platform.resources}


def _auth(platform: Platform, api_key: str) -> httpx.BasicAuth | None:
    if platform.auth != "basic":
        return None
    user, _, password = api_key.partition(":")  # Rewardful: the secret as user; PartnerStack: public:secret
    return httpx.BasicAuth(user, password)


def _headers(platform: Platform, api_key: str) -> dict[str, str]:
    if platform.auth != "bearer":
        return {}
    account, _, token = api_key.rpartition(":")  # FirstPromoter: ACCOUNT_ID:TOKEN; Tolt: the token
    return {"Authorization": f"Bearer {token}", **({"Account-ID": account} if account else {})}


def _pages(client: httpx.Client, platform: Platform, resource: Resource) -> list[Row]:
    rows: list[Row] = []
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    for page in range(1, MAX_PAGES + 1):
        if platform.paging == "page":
            params["page"] = page
        response = client.get(resource.endpoint, params=params)
        if response.status_code != 200:
            raise FetchError(f"{platform.name} {resource.endpoint}: HTTP {response.status_code}")
        document = response.json()
        batch = rows_of(document)
        rows += batch
        log.info("import_fetched", platform=platform.name, resource=resource.name, page=page, rows=len(batch))
        if not batch or not _more(document, platform):
            return rows
        if platform.paging == "cursor":
            params["starting_after"] = batch[-1].get("key") or batch[-1].get("id")
    raise FetchError(f"{platform.name} {resource.endpoint}: more than {MAX_PAGES} pages")


def _more(document: Any, platform: Platform) -> bool:
    """Whether another page follows: ``has_more`` (cursor APIs, also under ``data``) or a
    ``next_page`` (Rewardful's pagination); a bare list goes on until a page is empty."""
    if isinstance(document, dict):
        for holder in (document, document.get("data"), document.get("pagination")):
            if isinstance(holder, dict):
                if "has_more" in holder:
                    return bool(holder["has_more"])
                if "next_page" in holder:
                    return holder["next_page"] is not None
        return False
    return platform.paging == "page"
