"""What every page shares: a browser gets HTML errors (and the sign-in page when it is
anonymous) where the API answers problem JSON; a form's notice shows once; the top bar
lists the caller's consoles; a form's commands go through the bus as the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.dependencies.utils import get_typed_signature
from fastapi.routing import APIRoute, iter_route_contexts

from entrypoints.bootstrap import Ledger
from entrypoints.http.access import READ_ALL
from entrypoints.http.auth import CurrentPrincipal, require
from entrypoints.http.deps import BusDep
from entrypoints.http.pages.common import back_to, outcome, send
from entrypoints.http.templating import render
from projections.queries import NotFound
from tests import builders as b
from tests.pages import BROWSER


def _test_pages(http):
    router = APIRouter(include_in_schema=False)

    @router.get("/test/staff", dependencies=[Depends(require(READ_ALL))])
    def staff_only(request: Request, principal: CurrentPrincipal):
        return render(request, "home.html", principal=principal)

    @router.get("/test/missing")
    def missing(principal: CurrentPrincipal):
        raise NotFound("partner 'nobody' does not exist")

    @router.post("/test/meeting")
    async def meeting(principal: CurrentPrincipal, bus: BusDep):
        results = await send(bus, principal, [{"type": "record_meeting", "partner_id": "p1"}])
        return back_to("/", *outcome(results, "Meeting recorded."))

    http.app.include_router(router)


def test_an_anonymous_browser_is_sent_to_sign_in_and_a_refusal_is_a_page(http):
    _test_pages(http)
    http.client.headers["Accept"] = BROWSER
    assert http.get("/test/staff").status_code == 303
    assert http.get("/test/staff").headers["location"] == "/signin"
    refused = http.get("/test/staff", as_="billing")
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "may not" in refused.text
    missing = http.get("/test/missing", as_="admin")
    assert missing.status_code == 404 and "partner &#39;nobody&#39; does not exist" in missing.text
    assert 'href="/admin/applications"' in missing.text, "an error page keeps the caller's top bar"
    assert http.get("/no/such/page").headers["content-type"].startswith("text/html")
    # The API keeps answering problem JSON.
    assert http.get("/v1/partners/nobody", as_="admin").headers["content-type"] == "application/problem+json"
    assert http.get("/v1/partners").status_code == 401
    # A client that does not ask for HTML gets problem JSON on pages too.
    http.client.headers["Accept"] = "*/*"
    assert http.get("/test/staff").status_code == 401
    assert http.get("/test/staff", as_="billing").headers["content-type"] == "application/problem+json"


def test_a_forms_notice_shows_once_and_its_command_went_through_the_bus_as_the_caller(http):
    http.driver.ok(b.program(), *b.partner("p1"))
    _test_pages(http)
    csrf = http.sign_in("admin")
    answer = http.client.post("/test/meeting", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    first = http.client.get("/")
    assert "Meeting recorded." in first.text
    assert "Meeting recorded." not in http.client.get("/").text
    [entry] = [e for e in http.driver.app.queries.audit(partner_id="p1") if e["type"] == "partner.meeting_recorded"]
    assert entry["actor"].startswith("admin:")


def test_a_form_without_its_csrf_token_is_refused(http):
    http.driver.ok(b.program(), *b.partner("p1"))
    _test_pages(http)
    http.sign_in("admin")
    answer = http.client.post("/test/meeting", data={}, headers={"Accept": BROWSER}, follow_redirects=False)
    assert answer.status_code == 403 and "stale" in answer.text
    assert [e for e in http.driver.app.queries.audit(partner_id="p1") if e["type"] == "partner.meeting_recorded"] == []


def test_the_top_bar_lists_the_callers_consoles(http):
    http.driver.ok(b.program(), *b.partner("p1"))
    http.sign_in("finance")
    page = http.client.get("/").text
    assert 'href="/finance/payouts"' in page and 'href="/admin/applications"' not in page
    http.sign_in("partner", "p1")
    landing = http.client.get("/", follow_redirects=False)
    assert landing.status_code == 303 and landing.headers["location"] == "/partners/p1"


def test_every_link_of_every_roles_top_bar_opens(http):
    from entrypoints.http.access import Principal, Role
    from entrypoints.http.navigation import links_for

    http.driver.ok(b.program(), *b.partner("p1"))
    broken = []
    for role in Role:
        partner_id = "p1" if role is Role.PARTNER else None
        for link in links_for(Principal(role, "t", partner_id)):
            status = http.get(link["href"], as_=role.value, partner_id=partner_id).status_code
            if status != 200:
                broken.append(f"{role.value}: {link['href']} -> {status}")
    assert broken == []


def _typed_parameters(dependant: Any) -> Iterator[tuple[str, Any]]:
    """(where, annotation) of every parameter of a route's endpoint and of each dependency
    it resolves, as FastAPI reads them."""
    if dependant.call is not None:
        for parameter in get_typed_signature(dependant.call).parameters.values():
            yield f"{dependant.call.__module__}.{dependant.call.__qualname__}({parameter.name})", parameter.annotation
    for sub in dependant.dependencies:
        yield from _typed_parameters(sub)


def test_no_route_and_no_dependency_takes_the_whole_ledger(http):
    """Issue 19 item 7: routes and pages name the parts they use (``entrypoints/http/deps.py``),
    never the ``Ledger``; only deps.py takes it apart, from ``app.state``."""
    routes = [c.original_route for c in iter_route_contexts(http.app.routes) if isinstance(c.original_route, APIRoute)]
    assert len(routes) > 90, "every page and API route is walked (included routers flattened)"
    takers = sorted({where for route in routes for where, annotation in _typed_parameters(route.dependant)
                     if annotation is Ledger or Ledger in get_args(annotation)})
    assert takers == []
