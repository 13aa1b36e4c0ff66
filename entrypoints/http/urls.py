"""The one way an id enters a URL.

An id is data: whatever it holds (``/``, ``#``, ``?``, ``..``, quotes), it must never
become part of a link's path, query or fragment, nor of the markup around it. The id
grammar (``commands.models.Id``) keeps new ids plain, but a log may hold ids recorded
before it, so every id placed in a URL is percent-encoded here, by ``url_id``:

- in a template, ``/admin/holds/{{ h.payment_id|url_id }}/review`` (the ``url_id`` filter);
- in Python, ``url("/admin/partners/{}/level", partner_id, program=program)``: each ``{}``
  gets an id and each keyword a query parameter, both through ``url_id``. Its result is a
  ``Url``, which a template may place in a link as ``{{ link|url }}`` (the ``url`` filter
  refuses anything else, so a string built by hand cannot slip into a link).

``tests/test_url_ids.py`` scans every template and fails when a value in an ``href``,
``action``, ``formaction`` or ``src`` does not go through one of the two filters.

The server reads an encoded id back whole: ``EncodedSlashes`` keeps ``%2F`` (and ``%25``)
encoded while routing, so an id holding ``/`` stays one path segment, and the path
parameter types of ``params`` (``PartnerId``, ``ProgramId``, ``PathId``...) decode it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote

from starlette.types import ASGIApp, Receive, Scope, Send


def url_id(value: object) -> str:
    """``value`` percent-encoded for any part of a URL (path segment, query value,
    fragment): everything but ASCII letters, digits and ``-_.~`` is escaped."""
    return quote(str(value), safe="")


class Url(str):
    """A URL whose ids went through ``url_id`` (made by ``url``)."""

    __slots__ = ()


def url(template: str, *ids: object, **query: object) -> Url:
    """``template`` with each ``{}`` replaced by the next id, then ``query`` as a query
    string (a None or empty value is left out), all encoded by ``url_id``:
    ``url("/partners/{}", "a/b", after="x y")`` is ``/partners/a%2Fb?after=x%20y``."""
    if template.count("{}") != len(ids):
        raise ValueError(f"{template!r} has {template.count('{}')} places for {len(ids)} ids")
    parts = template.split("{}")
    built = parts[0] + "".join(url_id(value) + part for value, part in zip(ids, parts[1:], strict=True))
    kept = [(name, value) for name, value in query.items() if value is not None and value != ""]
    if kept:
        built += ("&" if "?" in built else "?") + "&".join(f"{url_id(name)}={url_id(value)}" for name, value in kept)
    return Url(built)


def checked_url(value: Any) -> Url:
    """The ``url`` template filter: a ``Url`` passes; any other value is a bug (an id that
    did not go through ``url_id``), refused rather than placed in a link."""
    if not isinstance(value, Url):
        raise TypeError(f"a link must be made by entrypoints.http.urls.url(), not given as {type(value).__name__}: {value!r}")
    return value


def from_path(segment: str) -> str:
    """A path parameter as the id it encodes: ``EncodedSlashes`` left ``%2F`` and ``%25``
    encoded so the router saw one segment; they are decoded here."""
    return _KEPT.sub(lambda match: unquote(match.group(0)), segment)


_KEPT = re.compile(r"%(?:2[Ff]|25)")


class EncodedSlashes:
    """ASGI middleware: routes on the path as the client sent it, with ``%2F`` and ``%25``
    still encoded (everything else decoded as usual). Without it, an id holding ``/``
    would be split into several path segments, and reach no route or the wrong one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path")
        if scope["type"] in ("http", "websocket") and raw and _KEPT.search(raw.decode("latin-1")):
            text = raw.decode("latin-1").split("?", 1)[0]
            decoded = "".join(part if _KEPT.fullmatch(part) else unquote(part) for part in _KEPT_SPLIT.split(text))
            scope = {**scope, "path": decoded}
        await self.app(scope, receive, send)


_KEPT_SPLIT = re.compile(r"(%(?:2[Ff]|25))")
