"""The fast path of parsing (``commands/decoding.py``, issue 19 item 1) accepts exactly
what the pydantic models accept, as equal models, or steps aside; refusals keep
pydantic's wording.

For generated commands of every type it knows, field values drawn from valid ones and
from the edges around them (whitespace, lengths at and beyond the limits, ``..`` in an
id, other-cased currencies, times in every ISO shape and out of range, amounts with
too many decimals, zero, a sign, an exponent, JSON numbers, nulls, missing and extra
fields), the test compares the fast path with pydantic on the same text and on the same
decoded object, and ``parse`` with the fast path on and off."""

from __future__ import annotations

import contextlib
import enum
import json
import types
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

from commands import decoding, parsing
from commands import models as m
from commands.reference import COMMAND_MODELS, STORY
from ledger.errors import CommandRejected

SETTINGS = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
FAST = sorted(decoding.FAST_TYPES)
MOMENT = TypeAdapter(m.Moment)
# Offsets ``datetime.fromisoformat`` reads (minutes of 60 and more become hours) and
# pydantic refuses; a seconds part pydantic refuses too.
BAD_OFFSETS = ["+00:60", "+01:99", "-12:75", "+23:60", "+25:00", "+99:00", "+00:00:00", "+01:30:15"]


def test_the_hot_commands_take_the_fast_path() -> None:
    """The commands that make most of a real stream (the bench's S data set) are on it."""
    assert {"record_payment", "sign_up_customer", "claim_customer", "record_cost", "record_meeting", "submit_lead",
            "record_refund", "record_chargeback", "adjust_commission", "set_do_not_contact"} <= decoding.FAST_TYPES


@pytest.mark.parametrize("step", [s for s in STORY if s["type"] in decoding.FAST_TYPES], ids=lambda s: s["type"])
def test_every_story_example_is_decoded_fast_as_pydantic_reads_it(step: dict[str, Any]) -> None:
    text = json.dumps(step)
    fast = decoding.from_json(text)
    assert fast is not None, f"{step['type']} stepped aside"
    assert_same(fast, parsing._PARSER.validate_python(json.loads(text)))
    assert_same(decoding.from_object(json.loads(text)), fast)  # type: ignore[arg-type]


@pytest.mark.parametrize("command_type", FAST)
@SETTINGS
@given(data=st.data())
def test_the_fast_path_accepts_what_pydantic_accepts_as_an_equal_model(command_type: str, data: st.DataObject) -> None:
    body = data.draw(command(COMMAND_MODELS[command_type]))
    text = render(body, ascii_only=data.draw(st.booleans()))
    decoded = json.loads(text, parse_float=Decimal)
    try:
        expected: BaseModel | None = parsing._PARSER.validate_python(decoded)
    except ValidationError:
        expected = None
    fast = decoding.from_json(text) if parsing._is_plain(text) else None
    if fast is not None:
        assert expected is not None, f"the fast path accepted what pydantic refuses: {text}"
        assert_same(fast, expected)
    if parsing._plain_object(decoded) and (fast_object := decoding.from_object(decoded)) is not None:
        assert expected is not None, f"the fast path accepted an object pydantic refuses: {text}"
        assert_same(fast_object, expected)
    assert outcome(text) == outcome(text, fast_path=False)
    assert outcome(decoded) == outcome(decoded, fast_path=False)


@pytest.mark.parametrize("text", [
    '{"type": "record_meeting", "partner_id": "p1", "type": "complete_training"}',  # the last type counts
    '{"type": "record_meeting", "partner_id": "p1", "type": "close_promo"}',
    '{"type": "record_meeting", "partner_id": "p1", "partner_id": "p2"}',  # the last value counts
    '{"partner_id": "p1", "type": "record_meeting"}',
    '\ufeff{"type": "record_meeting", "partner_id": "p1"}',
    '{"type": "record_meeting", "partner_id": "p1"} x',
    '[{"type": "record_meeting", "partner_id": "p1"}]',
    '{"type": "record_meeting", "partner_id": "p1", "at": NaN}',
    '{"type": ["record_meeting"], "partner_id": "p1"}',
    '{"type": {"a": 1}, "partner_id": "p1"}',
])
def test_json_the_two_decoders_might_read_differently(text: str) -> None:
    assert outcome(text) == outcome(text, fast_path=False)
    with contextlib.suppress(CommandRejected):  # as an object too, where it is JSON
        decoded = parsing.decode_json(text)
        assert outcome(decoded) == outcome(decoded, fast_path=False)


STRINGS = st.one_of(
    st.text(st.characters(max_codepoint=0x7F), max_size=5),  # ASCII, control characters included
    st.text(st.characters(max_codepoint=0xFFFF) | st.sampled_from("\x00\x1f\x7f\x85\x9f\ud800 é"), max_size=5),
)
OBJECTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.decimals(allow_nan=False) | STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(STRINGS, inner, max_size=3),
    max_leaves=40,
)


@SETTINGS
@given(st.dictionaries(STRINGS, OBJECTS, max_size=4))
def test_an_object_the_fast_path_may_take_has_nothing_the_walk_refuses(value: dict[str, Any]) -> None:
    """``_plain_object`` (one walk, for the fast path) never passes what ``_unsafe_text``
    (the walk that words refusals) refuses: control characters, lone surrogates, depth."""
    if parsing._plain_object(value):
        assert list(parsing._unsafe_text(value)) == []


def test_an_object_nested_beyond_the_limit_is_not_plain() -> None:
    deep: dict[str, Any] = {"a": "b"}
    for _ in range(parsing.MAX_DEPTH + 1):
        deep = {"a": deep}
    assert not parsing._plain_object(deep)
    assert list(parsing._unsafe_text(deep))


class Partner(enum.StrEnum):
    P1 = "p1"


class Text(str):
    pass


@pytest.mark.parametrize("partner", [Partner.P1, Text("p1")], ids=["enum", "str subclass"])
def test_an_object_from_python_code_is_read_as_pydantic_reads_it(partner: str) -> None:
    body = {"type": "record_meeting", "partner_id": partner}
    assert not parsing._plain_object(body)
    command = parsing.parse(body)
    assert type(command.partner_id) is str  # type: ignore[attr-defined]
    assert outcome(body) == outcome(body, fast_path=False)


def test_a_refusal_says_what_pydantic_says() -> None:
    text = '{"type": "record_payment", "payment_id": "a..b", "customer_id": " ", "currency": "usd", "lines": []}'
    refused = outcome(text)
    assert refused == outcome(text, fast_path=False)
    assert [problem["field"] for problem in refused[1]] == ["payment_id", "customer_id", "currency", "lines"]


@pytest.mark.parametrize("offset", BAD_OFFSETS)
def test_a_time_whose_offset_pydantic_refuses_is_refused(offset: str) -> None:
    """Not read by ``fromisoformat`` as some other time: ``+00:60`` is not one hour."""
    assert decoding.from_json('{"type": "record_meeting", "partner_id": "p1", "at": "2024-01-01T00:00:00+00:59"}')
    body = {"type": "record_meeting", "partner_id": "p1", "at": f"2024-01-01T00:00:00{offset}"}
    assert decoding.from_json(json.dumps(body)) is None
    assert decoding.from_object(body) is None  # type: ignore[arg-type]
    refused = outcome(json.dumps(body))
    assert refused[0] == "refused" and [problem["field"] for problem in refused[1]] == ["at"]
    assert outcome(body) == refused == outcome(body, fast_path=False)


@pytest.mark.parametrize("alias", [m.Id, m.Name, m.Text, m.PartnerCode, m.Email],
                         ids=["Id", "Name", "Text", "PartnerCode", "Email"])
def test_a_text_check_takes_its_longest_length_from_the_model(alias: Any) -> None:
    """At the alias's own ``max_length`` both accept; one more, both refuse (the fast
    path by stepping aside): the limit is written once, in the model."""
    check = next(rule for known, rule in decoding._CHECKS if known is alias)
    longest = decoding._string_rules(alias).max_length
    assert longest is not None
    for length, accepted in [(longest, True), (longest + 1, False)]:
        value = "a@" + "b" * (length - 2)
        assert takes(TypeAdapter(alias).validate_python, value, ValidationError) is accepted
        assert takes(check, value, decoding.Unsure) is accepted


def takes(check: Callable[[str], Any], value: str, refusal: type[Exception]) -> bool:
    try:
        return bool(check(value) == value)
    except refusal:
        return False


def test_a_narrower_alias_makes_a_narrower_text_check() -> None:
    narrow = typing.Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=30,
                                                     pattern=r"^[a-z]+$")]
    check = decoding._text(narrow)
    assert check("a" * 30) == "a" * 30
    for value in ["a" * 31, "a", "aB", " ab", "ab "]:
        with pytest.raises(decoding.Unsure):
            check(value)


# Times of the form the fast path reads and their neighbours: hours, minutes and seconds
# up to 29, 69 and 69, a fraction of up to 7 digits, any offset of about that form (the
# shapes of the date and the separator are ``MOMENTS``'s).
ISO_LIKE_TIMES = st.from_regex(
    r"(1900-01-01|2024-02-29|2999-12-31)T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\.[0-9]{1,7})?"
    r"([Zz]|[+-][0-2][0-9](:?[0-9]{2}(:[0-9]{2})?)?)?", fullmatch=True)


@SETTINGS
@given(ISO_LIKE_TIMES)
def test_a_time_the_fast_path_reads_is_the_time_pydantic_reads(text: str) -> None:
    try:
        expected: datetime | None = MOMENT.validate_python(text)
    except ValidationError:
        expected = None
    with contextlib.suppress(ValueError):  # ``Unsure`` and what ``fromisoformat`` refuses: stepping aside
        fast = decoding._moment(text)
        assert expected is not None, f"the fast path read {text} as {fast}, pydantic refuses it"
        assert_same(fast, expected)


# -- comparing -----------------------------------------------------------------------------


def outcome(raw: Any, fast_path: bool = True) -> tuple[str, Any]:
    """What ``parse`` gives: the command's JSON dump and fields set, or the refusal's problems."""
    original = decoding.from_json, decoding.from_object
    if not fast_path:
        decoding.from_json = decoding.from_object = lambda _: None  # type: ignore[assignment]
    try:
        command = parsing.parse(raw)
        return "ok", (type(command).__name__, command.model_dump_json(), sorted(command.model_fields_set))
    except CommandRejected as refusal:
        return "refused", [problem.as_dict() for problem in refusal.problems]
    finally:
        decoding.from_json, decoding.from_object = original


def assert_same(fast: Any, slow: Any) -> None:
    """Equal as values and as stored: same types, same field order, same fields set, the
    same decimal digits and the same offsets."""
    assert type(fast) is type(slow)
    if isinstance(fast, BaseModel):
        assert list(fast.__dict__) == list(slow.__dict__)
        assert fast.model_fields_set == slow.model_fields_set
        assert fast.__pydantic_private__ == slow.__pydantic_private__
        assert fast.__pydantic_extra__ == slow.__pydantic_extra__
        for name in fast.__dict__:
            assert_same(fast.__dict__[name], slow.__dict__[name])
        assert fast == slow
        assert fast.model_dump_json() == slow.model_dump_json()
        if isinstance(fast, m.Command):
            assert fast.content() == slow.content()
            assert fast.idempotency_keys("caller") == slow.idempotency_keys("caller")
    elif isinstance(fast, list):
        assert len(fast) == len(slow)
        for one, other in zip(fast, slow, strict=True):
            assert_same(one, other)
    elif isinstance(fast, datetime):
        assert (fast, fast.isoformat(), fast.utcoffset()) == (slow, slow.isoformat(), slow.utcoffset())
    elif isinstance(fast, Decimal):
        assert str(fast) == str(slow)
    else:
        assert fast == slow


# -- generating ------------------------------------------------------------------------------


def render(body: dict[str, Any], ascii_only: bool) -> str:
    """JSON text; a Decimal is written as a JSON number, as it stands."""
    numbers: list[str] = []

    def number(value: Decimal) -> str:
        numbers.append(str(value))
        return f"<number {len(numbers) - 1}>"

    text = json.dumps(body, default=number, ensure_ascii=ascii_only)
    for index, written in enumerate(numbers):
        text = text.replace(f'"<number {index}>"', written)
    return text


def mostly(valid: st.SearchStrategy[Any], *edges: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid nine times in ten, so that whole commands are often valid too."""
    return st.integers(0, 9).flatmap(lambda draw: st.one_of(*edges) if draw == 0 else valid)


def texts(valid: st.SearchStrategy[str], edges: list[Any], longest: int) -> st.SearchStrategy[Any]:
    return mostly(
        valid,
        st.sampled_from(["", " ", "a ", " a", "\u00a0a", "a\u2028", "a\x1c", "a\x00", "a\\b", "é", "a..b", "-a", "a b",
                         "a" * longest, "a" * (longest + 1), 7, None, True, ["a"], {"a": 1}, *edges]),
        st.text(max_size=8),
    )


IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,12}", fullmatch=True)
NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 _.éü/-]{0,12}[A-Za-z0-9]?", fullmatch=True)
VALID_MOMENTS = st.builds(
    lambda day, clock, fraction, zone: f"{day}{clock}{fraction}{zone}",
    st.sampled_from(["2024-01-31", "2024-02-29", "1900-01-01", "2999-12-31", "2025-06-15"]),
    st.sampled_from(["T00:00:00", "T23:59:59", "T12:30:05"]),
    st.sampled_from(["", "", ".1", ".123456", ".000500"]),
    st.sampled_from(["Z", "Z", "", "+00:00", "+02:00", "-05:30", "+14:00", "-23:59"]),
)
# A valid time but for its offset (``fromisoformat`` reads these, pydantic refuses them).
BAD_OFFSET_MOMENTS = st.builds(lambda day, offset: f"{day}T12:30:05{offset}",
                               st.sampled_from(["2024-02-29", "2025-06-15"]), st.sampled_from(BAD_OFFSETS))
MOMENTS = st.builds(
    lambda year, month, day, clock, fraction, zone: f"{year}-{month}-{day}{clock}{fraction}{zone}",
    st.sampled_from(["2024", "1900", "1899", "2999", "3000", "0001", "9999", "24"]),
    st.sampled_from(["01", "02", "12", "13", "00", "1"]),
    st.sampled_from(["01", "29", "30", "31", "32", "00"]),
    st.sampled_from(["T00:00:00", "T23:59:59", "T12:30:00", "T24:00:00", "T23:59:60", "T12:60:00", "T99:00:00",
                     " 12:00:00", "t12:00:00", "T12:00", "T12", "", "T1:00:00"]),
    st.sampled_from(["", ".1", ".123456", ".1234567", ".", ",5"]),
    st.sampled_from(["", "Z", "z", "+00:00", "+02:00", "-05:30", "+14:00", "-23:59", "+24:00", "+0100", "+01",
                     " Z", *BAD_OFFSETS]),
)
VALID_AMOUNTS = st.from_regex(r"([1-9][0-9]{0,6}|999999999999999)(\.[0-9]{2})?", fullmatch=True)
AMOUNTS = mostly(
    VALID_AMOUNTS,
    st.from_regex(r"-?(0|[1-9][0-9]{0,6}|999999999999999)(\.[0-9]{1,2})?", fullmatch=True),
    st.builds(lambda sign, whole, point, part: f"{sign}{whole}{point}{part}",
              st.sampled_from(["", "", "-", "+"]),
              st.sampled_from(["0", "1", "49", "007", "999999999999999", "1000000000000000", "", "١"]),
              st.sampled_from([".", ".", ""]),
              st.sampled_from(["", "0", "5", "00", "50", "123", "1234", "12345", "1000", "10000", "0000"])),
    st.sampled_from(["1e3", "1E+1", " 1.00", "1.00 ", "1_000", "NaN", "Infinity", 0, 5, -5, 1.5, Decimal("2.50"),
                     Decimal("1E+2"), True, None]),
)
CURRENCIES = mostly(
    st.sampled_from(["USD", "EUR", "GBP", "CHF"]),
    st.sampled_from(["JPY", "BHD", "CLF", "usd", "XXX", "XAU", "US", "USDD", " USD", "ÜSD", 840, None]),
)


def value(hint: Any) -> st.SearchStrategy[Any]:
    """Values for a field of this type, valid ones and their edges."""
    if hint is m.Id:
        return texts(IDS, ["a/b", "a?b", ".a", "a" * 200], m.MAX_ID)
    if hint is m.Name or hint is m.PartnerCode:
        return texts(NAMES, ["a" * 40, "a" * 41], m.MAX_ID)
    if hint is m.Text:
        return texts(NAMES, [], m.MAX_TEXT)
    if hint is m.Currency:
        return CURRENCIES
    if hint is m.Email:
        return texts(st.from_regex(r"[a-z.é]{1,6}@[a-z]{1,6}(\.[a-z]{2})?", fullmatch=True),
                     ["a@b@c", "a @b.c", "@b.c", "a@", "a\u00a0@b.c", "a@b.c" + "c" * 320], 320)
    if hint is m.Moment:
        return mostly(VALID_MOMENTS, MOMENTS, BAD_OFFSET_MOMENTS, st.sampled_from([0, 1700000000, None, "now", ""]))
    if hint in (m.Amount, m.PositiveAmount, m.NonNegativeAmount):
        return AMOUNTS
    if hint is m.Period:
        return mostly(st.sampled_from(["2024-01", "2024-12"]), st.sampled_from(["1899-12", "2024-13", "2024-1", "24-01", 202401, None]))
    if hint is bool:
        return mostly(st.booleans(), st.sampled_from(["true", 1, 0, None]))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return mostly(st.sampled_from(args), st.sampled_from(["other", "", None]))
    if origin in (typing.Union, types.UnionType):
        inner = next(arg for arg in args if arg is not type(None))
        return mostly(value(inner), st.none())
    if origin is typing.Annotated and typing.get_origin(args[0]) is list:
        item = value(typing.get_args(args[0])[0])
        return mostly(st.lists(item, min_size=1, max_size=3), st.lists(item, max_size=3))
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return command(hint)
    raise AssertionError(f"no values for {hint}")


def command(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """A body of this model: each field given (required ones mostly) or not, at times an
    extra field."""
    hints = typing.get_type_hints(model, include_extras=True)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        if name == "type":
            continue
        strategy = value(hints[name])
        if info.is_required():
            fields[name] = strategy
        optional[name] = strategy
    tag: Callable[[dict[str, Any]], dict[str, Any]] = (
        (lambda body: {"type": model.model_fields["type"].annotation.__args__[0], **body})  # type: ignore[union-attr]
        if "type" in model.model_fields else (lambda body: body))
    others = {name: strategy for name, strategy in optional.items() if name not in fields}
    required = st.fixed_dictionaries(fields, optional=others)
    dropped = st.fixed_dictionaries({}, optional=optional)
    extra = st.fixed_dictionaries(fields, optional={**others, "extra": st.just(1)})
    return mostly(required, dropped, extra).map(tag)
