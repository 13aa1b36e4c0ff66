"""Ids are data, never markup or paths (issue 17 item 1): the id grammar at the edge, the
one URL-encoding helper, and every template's links going through it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from commands.parsing import parse
from entrypoints.http.urls import Url, checked_url, from_path, url, url_id
from ledger.errors import CommandRejected

TEMPLATES = Path(__file__).resolve().parents[1] / "entrypoints" / "http" / "templates"

# Attributes whose value a browser follows as a URL.
URL_ATTRIBUTE = re.compile(r"""\b(href|action|formaction|src|srcset|poster|cite|data)\s*=\s*("[^"]*"|'[^']*')""", re.IGNORECASE)
OUTPUT = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# An id through ``url_id``, a whole link made by ``urls.url`` through ``url``, or a static
# asset's address made by the framework's own ``url_for`` (it encodes its parameters).
THROUGH_HELPER = re.compile(r"(\|\s*(url_id|url)\s*|^url_for\(.*\)\.path)$", re.DOTALL)


def unencoded_values(text: str) -> list[str]:
    """Every ``{{ ... }}`` placed in a URL attribute without going through the helper."""
    return [
        f"{attribute}={value}: {{{{{expression}}}}}"
        for attribute, value in ((m.group(1), m.group(2)) for m in URL_ATTRIBUTE.finditer(text))
        for expression in OUTPUT.findall(value)
        if not THROUGH_HELPER.search(expression.strip())
    ]


def test_every_template_puts_ids_in_urls_through_the_helper() -> None:
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 20  # the scan reads the real templates
    offenders = {str(path.relative_to(TEMPLATES)): found for path in templates if (found := unencoded_values(path.read_text()))}
    assert offenders == {}, "put ids in URLs with |url_id, whole links with |url (entrypoints/http/urls.py)"


def test_no_redirect_is_built_from_an_f_string() -> None:
    # back_to/submit/pager take a Url (mypy checks); a RedirectResponse made directly
    # must not format an id into its URL either.
    sources = sorted((TEMPLATES.parent).rglob("*.py"))
    assert len(sources) > 20
    built = [f"{path.name}:{n}" for path in sources for n, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"RedirectResponse\(\s*f[\"']", line)]
    assert built == [], "build the URL with entrypoints.http.urls.url()"


@pytest.mark.parametrize("snippet", [
    '<form action="/admin/holds/{{ h.payment_id }}/review">',
    "<a href='/partners/{{ p.partner_id|urlencode }}'>",
    '<img src="/x/{{ a|url_id }}/{{ b }}">',
    '<button formaction="{{ next }}">',
    '<a class="x" href="{{ link.href|e }}">',
])
def test_the_scan_catches_an_id_placed_raw(snippet: str) -> None:
    assert unencoded_values(snippet)


@pytest.mark.parametrize("snippet", [
    '<form action="/admin/holds/{{ h.payment_id|url_id }}/review">',
    '<a href="{{ pager.next|url }}">',
    '<a href="/x?{{ a | url_id }}">{{ a }}</a>',
    '<link href="{{ url_for(\'static\', path=\'app.css\').path }}">',
])
def test_the_scan_lets_the_helper_through(snippet: str) -> None:
    assert unencoded_values(snippet) == []


# -- the helper ------------------------------------------------------------------------

ATTACK = "../partners/rr-00008/terminate#"


def test_url_id_leaves_no_character_that_steers_a_url() -> None:
    assert url_id(ATTACK) == "..%2Fpartners%2Frr-00008%2Fterminate%23"
    for character in "/#?&=%\"'<> \\:;@+é\u2215":
        assert re.fullmatch(r"a[A-Za-z0-9_.~-]*(%[0-9A-F]{2})+b", url_id(f"a{character}b")), character


def test_url_fills_ids_and_query_through_url_id() -> None:
    built = url("/admin/holds/{}/review", ATTACK, partner="a&b=c", program=None, empty="")
    assert built == "/admin/holds/..%2Fpartners%2Frr-00008%2Fterminate%23/review?partner=a%26b%3Dc"
    assert isinstance(built, Url)
    assert url("/v1/x?a=1", b="2") == "/v1/x?a=1&b=2"
    with pytest.raises(ValueError, match="places"):
        url("/partners/{}")


def test_the_url_filter_refuses_a_string_made_by_hand() -> None:
    assert checked_url(url("/audit")) == "/audit"
    with pytest.raises(TypeError, match=r"urls\.url"):
        checked_url("/partners/" + ATTACK)


@pytest.mark.parametrize(("seen", "original"), [
    ("..%2Fpartners%2Frr-00008%2Fterminate#", ATTACK), ("100%25", "100%"), ("a%252Fb", "a%2Fb"), ("plain", "plain"),
])
def test_a_path_segment_decodes_back_to_the_id(seen: str, original: str) -> None:
    # What routing sees of url_id(original): EncodedSlashes keeps %2F and %25, decodes the rest.
    assert from_path(seen) == original


# -- the grammar at the edge -----------------------------------------------------------

PAYMENT = {"type": "record_payment", "customer_id": "c1", "currency": "USD", "lines": [{"kind": "subscription", "amount": "10.00"}]}


@pytest.mark.parametrize("bad", [ATTACK, "a/b", "a#b", "a?b", "a b", "a..b", "..", ".", ".hidden", "-x", "<b>", "é", "a%2Fb", "x" * 201])
def test_an_id_outside_the_grammar_is_refused_naming_its_field(bad: str) -> None:
    with pytest.raises(CommandRejected) as refused:
        parse({**PAYMENT, "payment_id": bad})
    [problem] = refused.value.problems
    assert problem.field == "payment_id"
    assert "payment_id" in problem.message and ("letters, digits" in problem.message or "200" in problem.message)


@pytest.mark.parametrize("good", ["in_1001", "sp/acme".replace("/", "-"), "ch_3Nq.x:1@eu", "A-1", "7"])
def test_an_id_in_the_grammar_is_accepted(good: str) -> None:
    assert parse({**PAYMENT, "payment_id": good}).payment_id == good  # type: ignore[attr-defined]


@pytest.mark.parametrize(("command", "field"), [
    ({"type": "define_program", "program_id": "a/b", "preset": "refer-resell"}, "program_id"),
    ({"type": "submit_application", "partner_id": "p#1", "program_id": "acme", "profile": {}}, "partner_id"),
    ({"type": "sign_up_customer", "customer_id": "../c"}, "customer_id"),
    ({"type": "claim_customer", "customer_id": "c?x", "partner_id": "p1", "channel": "link"}, "customer_id"),
    ({"type": "record_refund", "refund_id": "r/1", "payment_id": "in_1", "amount": "1.00"}, "refund_id"),
    ({"type": "record_chargeback", "chargeback_id": "c b", "payment_id": "in_1", "amount": "1.00"}, "chargeback_id"),
    ({"type": "record_cost", "cost_id": "c..1", "customer_id": "c1", "amount": "1.00", "currency": "USD", "kind": "ads"}, "cost_id"),
    ({"type": "adjust_commission", "adjustment_id": "a/1", "partner_id": "p1", "amount": "1.00", "currency": "USD",
      "reason": "x"}, "adjustment_id"),
    ({"type": "record_payout", "payout_id": "<p>", "partner_id": "p1", "amount": "1.00", "currency": "USD",
      "statement_ids": ["acme/p1/USD/2025-01"]}, "payout_id"),
    ({"type": "submit_lead", "lead_id": "l/1", "partner_id": "p1", "company": "X", "email": "a@b.example"}, "lead_id"),
    ({"type": "create_resold_customer", "partner_id": "p1", "customer_id": "c#1", "company": "X"}, "customer_id"),
])
def test_every_id_a_command_introduces_follows_the_grammar(command: dict[str, object], field: str) -> None:
    with pytest.raises(CommandRejected) as refused:
        parse(command)
    assert field in {problem.field for problem in refused.value.problems}


def test_an_id_naming_a_record_already_held_may_predate_the_grammar() -> None:
    # A record recorded before the grammar stays reachable: the handler looks it up
    # (and refuses an id it does not know with not_found).
    review = parse({"type": "review_commission", "payment_id": ATTACK, "decision": "release", "reason": "ok"})
    assert review.payment_id == ATTACK  # type: ignore[attr-defined]
