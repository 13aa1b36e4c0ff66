"""The fast path of ``parsing.parse``: a command decoded by msgspec straight into a typed
struct derived from its pydantic model, checked by the model's own rules where it has them
(and by narrower checks of ours where pydantic's are in Rust: times), then built as
that model without validating it a second time (``model_construct``).

It accepts or steps aside, never refuses: whatever it is not sure of (a field type it
does not know, a JSON number where text is usual, an amount with more than 4 decimals,
text with surrounding whitespace, anything a rule refuses) gives None, and the pydantic
model decides and words the refusal. So the fast path may be narrower than the models,
never wider: ``tests/test_fast_decoding.py`` shows, for generated valid and invalid
commands, that what it accepts pydantic accepts, as an equal model.

A command type takes the fast path when every field's type is one of ``_CHECKS``'s
aliases (``Id``, ``KnownId``, ``Text``, ``Moment``, the amounts...), a bool, a literal,
a list of those or a nested model made of those, with no constraint added on the field
itself, and its validators are "after" ones (run here on the built model, as pydantic
runs them). The others (a program's terms, a tax form...) always go through pydantic.

Only text without control characters reaches it (``parsing`` checks that first), so its
checks need not look for them.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Union

import msgspec
from annotated_types import MinLen
from pydantic import BaseModel, StringConstraints
from pydantic._internal._model_construction import init_private_attributes
from pydantic.fields import FieldInfo

from commands import models as m
from ledger.money import CURRENCIES, MAX_AMOUNT

Check = Callable[[Any], Any]  # a decoded value -> the model's value; raises ValueError to step aside


class Unsure(ValueError):
    """The fast path steps aside: the pydantic model decides."""


class Unsupported(Exception):
    """A field type the fast path does not know: its command always goes through pydantic."""


# -- the rules of each alias, as the model states them ----------------------------------


def _string_rules(alias: Any) -> StringConstraints:
    """The ``StringConstraints`` a ``commands.models`` alias states: the fast path's
    text checks read their limits there, so a narrowed model narrows them too."""
    (rules,) = [arg for arg in typing.get_args(alias)[1:] if isinstance(arg, StringConstraints)]
    if rules.to_upper or rules.to_lower:
        raise Unsupported(f"{alias}: a rule that changes the text")
    return rules


def _text(alias: Any) -> Check:
    """The alias's ``min_length``, ``max_length`` and ``pattern`` (``PRINTABLE`` is
    checked on the whole command before); it strips whitespace, and text with
    surrounding whitespace steps aside rather than being stripped here."""
    rules = _string_rules(alias)
    least, longest = rules.min_length or 0, rules.max_length
    assert longest is not None, f"{alias}: text without a longest length"
    # ``search``, as pydantic does; the patterns anchor themselves with ``^...$``. A
    # trailing newline, which ``$`` would let by, is a control character: refused before.
    pattern = None if rules.pattern in (None, m.PRINTABLE) else re.compile(rules.pattern).search

    def check(value: str) -> str:
        if not least <= len(value) <= longest or (value and (value[0].isspace() or value[-1].isspace())) \
                or (pattern is not None and pattern(value) is None):
            raise Unsure
        return value
    return check


_name = _text(m.Name)
_id_text = _text(m.Id)


def _id(value: str) -> str:
    return m._id_grammar(_id_text(value))


def _currency(value: str) -> str:
    if value not in CURRENCIES:
        raise Unsure
    return value


# The common form of an ISO 8601 time; any other (a date alone, a comma, a leap second...)
# steps aside, and pydantic reads it. Hours and minutes are spelled out, the offset's too:
# ``fromisoformat`` would turn an offset of ``+00:60`` into one hour, which pydantic refuses.
_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
                     r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?")


def _moment(value: str) -> datetime:
    if _MOMENT.fullmatch(value) is None:
        raise Unsure
    return m._in_range(datetime.fromisoformat(value))  # type: ignore[return-value]


# ``ledger.money.AMOUNT_TEXT`` narrowed: at most 15 digits before the point (so below
# ``MAX_AMOUNT``) and 4 after it (pydantic also takes trailing zeros beyond: those step aside).
_AMOUNT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,4})?")
assert Decimal("1e15") == MAX_AMOUNT


def _amount(*, signed: bool, positive: bool) -> Check:
    def check(value: str) -> Decimal:
        if _AMOUNT.fullmatch(value) is None or (value[0] == "-" and not signed):
            raise Unsure
        amount = Decimal(value)  # what ``parse_amount`` makes of text in its grammar
        if positive and amount <= 0:
            raise Unsure
        return amount
    return check


# Each alias of ``commands.models`` the fast path knows, with its rules and its JSON type.
_CHECKS: list[tuple[Any, Check]] = [
    (m.Id, _id),
    (m.Name, _name),  # KnownId too
    (m.Text, _text(m.Text)),
    (m.PartnerCode, _text(m.PartnerCode)),
    (m.Currency, _currency),
    (m.Email, _text(m.Email)),
    (m.Moment, _moment),
    (m.Period, m._period),
    (m.Amount, _amount(signed=True, positive=False)),
    (m.PositiveAmount, _amount(signed=False, positive=True)),
    (m.NonNegativeAmount, _amount(signed=False, positive=False)),
]


# -- plans: a struct per model, and how to turn it into the model -------------------------


_TAG = object()  # a command's ``type`` field: its struct's tag
_REQUIRED = object()  # a field without a default
_set = object.__setattr__


@dataclass(frozen=True)
class _Plan:
    model: type[BaseModel]
    tag: str | None  # a command's type
    # Each field of the model, in its order: name, rule, field validators, default.
    fields: tuple[tuple[str, Check | None, tuple[Check, ...], Any], ...]
    model_validators: tuple[Callable[[Any], Any], ...]
    private: dict[str, Any] | None  # the private attributes' defaults

    def build(self, decoded: msgspec.Struct) -> Any:
        """The model from its decoded struct, its rules and validators applied as pydantic
        applies them (a field's own, then its field validators, then the model's); built
        as ``model_construct`` builds it, without its per-field lookups."""
        values: dict[str, Any] = {}
        given: set[str] = set()
        for name, check, validators, default in self.fields:
            if default is _TAG:
                value = self.tag
            else:
                value = getattr(decoded, name)
                if value is msgspec.UNSET:
                    values[name] = default
                    continue
                if value is not None and check is not None:
                    value = check(value)
                for validator in validators:
                    value = validator(value)
            values[name] = value
            given.add(name)
        model = self.model.__new__(self.model)
        _set(model, "__dict__", values)
        _set(model, "__pydantic_fields_set__", given)
        _set(model, "__pydantic_extra__", None)
        _set(model, "__pydantic_private__", None if self.private is None else dict(self.private))
        for validator in self.model_validators:
            model = validator(model)
        return model


_PLANS: dict[type[msgspec.Struct], _Plan] = {}


def _plan(model: type[BaseModel], tag: str | None) -> type[msgspec.Struct]:
    """The struct of ``model`` (registered with its plan); Unsupported if a field or a
    validator is of a kind the fast path does not know."""
    if set(model.model_config) - {"extra", "frozen"} or model.__pydantic_root_model__:
        raise Unsupported(f"{model.__name__}: config {sorted(model.model_config)}")
    if inspect.unwrap(model.model_post_init) not in (BaseModel.model_post_init, init_private_attributes):
        raise Unsupported(f"{model.__name__}: its own model_post_init")
    hints = typing.get_type_hints(model, include_extras=True)
    decorators = model.__pydantic_decorators__
    if any(d.info.mode != "after" for d in decorators.model_validators.values()) or decorators.validators \
            or decorators.root_validators or decorators.field_serializers or decorators.model_serializers:
        raise Unsupported(f"{model.__name__}: validators other than 'after' ones")
    struct_fields: list[Any] = []
    fields: list[tuple[str, Check | None, tuple[Check, ...], Any]] = []
    for name, info in model.model_fields.items():
        if name == "type" and tag is not None:
            fields.append((name, None, (), _TAG))
            continue
        if info.alias or info.validation_alias or info.default_factory is not None:
            raise Unsupported(f"{model.__name__}.{name}: an alias or a default factory")
        json_type, check = _field(hints[name], info)
        if info.is_required():
            struct_fields.append((name, json_type))
            default = _REQUIRED
        elif isinstance(info.default, _IMMUTABLE):
            struct_fields.append((name, json_type | msgspec.UnsetType, msgspec.UNSET))
            default = info.default
        else:
            raise Unsupported(f"{model.__name__}.{name}: a default that pydantic would copy")
        fields.append((name, check, _field_validators(model, name), default))
    struct = msgspec.defstruct(
        f"{model.__name__}Struct", struct_fields, kw_only=True, forbid_unknown_fields=True,
        tag_field=None if tag is None else "type", tag=tag,
    )
    private = {name: attr.get_default() for name, attr in model.__private_attributes__.items()}
    if not all(isinstance(value, _IMMUTABLE) for value in private.values()):
        raise Unsupported(f"{model.__name__}: a private attribute's default that pydantic would copy")
    _PLANS[struct] = _Plan(model, tag, tuple(fields), tuple(d.func for d in decorators.model_validators.values()),
                           private or None)
    return struct


_IMMUTABLE = (type(None), bool, int, str, Decimal)


def _field_validators(model: type[BaseModel], name: str) -> tuple[Check, ...]:
    found = []
    for decorator in model.__pydantic_decorators__.field_validators.values():
        if name in decorator.info.fields:
            if decorator.info.mode != "after" or len(inspect.signature(decorator.func).parameters) != 1:
                raise Unsupported(f"{model.__name__}.{name}: a validator other than an 'after' one of the value alone")
            found.append(decorator.func)
    return tuple(found)


def _field(hint: Any, info: FieldInfo) -> tuple[Any, Check | None]:
    """A field's JSON type and rule, from its annotation; the field may add no constraint
    of its own (``Field(max_length=...)``) to the alias it is declared with."""
    own = FieldInfo.from_annotation(hint).metadata if typing.get_origin(hint) is typing.Annotated else []
    if info.metadata != own:
        raise Unsupported(f"constraints of the field's own: {info.metadata}")
    return _json_type(hint)


def _json_type(hint: Any) -> tuple[Any, Check | None]:
    for alias, rule in _CHECKS:
        if hint is alias or hint == alias:
            return str, rule
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        return bool, None
    if origin is Literal and all(isinstance(arg, str) for arg in args):
        return hint, None
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner, check = _json_type(next(arg for arg in args if arg is not type(None)))
        return inner | None, check
    if origin is typing.Annotated and typing.get_origin(args[0]) is list:
        least = [c.min_length for c in FieldInfo.from_annotation(hint).metadata if isinstance(c, MinLen)]
        if len(FieldInfo.from_annotation(hint).metadata) != len(least):
            raise Unsupported(f"{hint}")
        item_type, item_check = _json_type(typing.get_args(args[0])[0])
        return list[item_type], _list(item_check, least[0] if least else 0)  # type: ignore[valid-type]
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        struct = _plan(hint, None)
        return struct, _PLANS[struct].build
    raise Unsupported(f"{hint}")


def _list(item: Check | None, least: int) -> Check:
    def check(values: list[Any]) -> list[Any]:
        if len(values) < least:
            raise Unsure
        return values if item is None else [item(value) for value in values]
    return check


def _commands() -> tuple[Any, ...]:
    """The struct of every command type the fast path knows."""
    structs = []
    for command in typing.get_args(typing.get_args(m.AnyCommand)[0]):
        try:
            structs.append(_plan(command, typing.get_args(command.model_fields["type"].annotation)[0]))
        except Unsupported:
            continue
    return tuple(structs)


_STRUCTS = _commands()
_BY_TYPE = {plan.tag: struct for struct, plan in _PLANS.items() if plan.tag is not None}
FAST_TYPES = frozenset(_BY_TYPE)
_DECODER = msgspec.json.Decoder(Union[_STRUCTS])  # type: ignore[valid-type]  # noqa: UP007
_NOT_SURE = (msgspec.ValidationError, msgspec.DecodeError, ValueError, AssertionError)


def from_json(text: str) -> m.Command | None:
    """The command in ``text`` (plain JSON: no control character in it), or None when
    the fast path is not sure and pydantic must decide."""
    try:
        decoded = _DECODER.decode(text)
        return _PLANS[type(decoded)].build(decoded)  # type: ignore[no-any-return]
    except _NOT_SURE:
        return None


def from_object(value: dict[str, Any]) -> m.Command | None:
    """The same for a decoded object that ``parsing`` found plain: only exact JSON
    types (msgspec would keep a ``str`` subclass that pydantic makes a ``str``) and no
    control character."""
    tag = value.get("type")
    struct = _BY_TYPE.get(tag) if type(tag) is str else None
    if struct is None:
        return None
    try:
        # One struct, not the union: msgspec.convert would inspect a union's 26 types on every call.
        return _PLANS[struct].build(msgspec.convert(value, struct, strict=True))  # type: ignore[no-any-return]
    except _NOT_SURE:
        return None

