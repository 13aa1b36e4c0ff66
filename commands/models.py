"""One pydantic model per command: what it does (its docstring's first line) and what
every field means (``Field(description=...)``); ``commands.reference`` and
``docs/commands.md`` are generated from them.

Every command may carry ``at`` (effective time, default now), ``actor`` and
``command_id`` (an idempotency key). Amounts are decimal strings (JSON numbers are
read exactly as decimals too, never through float).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from events.partner import TaxForm
from events.program import Terms
from events.revenue import RevenueLine
from ledger.money import AMOUNT_TEXT, CURRENCIES, MAX_AMOUNT, minor_unit, parse_amount

# No id or text may hold a control character (C0 or C1, NUL included): PostgreSQL
# cannot store NUL in text, and the others only ever hide something. ``parsing``
# checks every string and key of a command against the same rule, at any depth.
CONTROL = r"\x00-\x1f\x7f-\x9f"  # the control characters, as a regex character range
PRINTABLE = rf"^[^{CONTROL}]*$"
MAX_ID = 200
MAX_TEXT = 2000
# Times and dates a command may carry: wide enough for any real business date, far
# enough from the calendar's ends that adding months or years can never overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)


def _iso_only(value: Any) -> Any:
    """Times and dates are ISO-8601 strings: a number is not read as a Unix time."""
    if isinstance(value, str | date):
        return value
    raise ValueError("give an ISO-8601 string, e.g. 2025-03-01T12:00:00Z")


def _in_range(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST.date() <= day <= LATEST.date():
        raise ValueError(f"{day.isoformat()} is outside the years {EARLIEST.year} to {LATEST.year}")
    return value


def _iso_currency(code: str) -> str:
    if code not in CURRENCIES:
        raise ValueError(f"{code!r} is not an ISO 4217 currency")
    return code


# The id grammar: every id a command introduces (a program, partner, customer, payment,
# refund, lead, payout...) may reach a URL, so it is plain data there: ASCII letters and
# digits and ``- _ . : @``, starting with a letter or digit, never ``..`` (no id can be
# read as a path, a query, a fragment or markup). An id outside it is refused at the edge.
ID_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.:@-]*$"
ID_RULE = f"use only letters, digits and - _ . : @, starting with a letter or digit, without '..', at most {MAX_ID} characters"


def _id_grammar(value: str) -> str:
    if re.fullmatch(ID_PATTERN, value) is None:
        raise ValueError(f"{value[:40]!r} is not an id: {ID_RULE}")
    return value


# A name that is not a record's id (a level, a revenue kind, an actor, a command id):
# printable text, as before.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID, pattern=PRINTABLE)]
# Id: a field whose id the command introduces (the record may be new). KnownId: a field
# naming a record that must exist already (an approval's partner, a refund's payment).
Id = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID), AfterValidator(_id_grammar),
    Field(json_schema_extra={"pattern": ID_PATTERN}),
]
# An id naming a record the ledger already holds (looked up, never created): any printable
# text, so a record whose id predates the grammar (in an existing log) can still be acted
# on; an id the ledger does not know is refused with ``not_found``.
KnownId = Name
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT, pattern=PRINTABLE)]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_iso_currency),
    Field(json_schema_extra={"enum": sorted(CURRENCIES)}),
]
Moment = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_in_range)]
Day = Annotated[date, BeforeValidator(_iso_only), AfterValidator(_in_range)]
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=10)]
# Amounts stay below a quadrillion and carry at most 4 decimals (the finest minor
# unit, e.g. CLF); each command then checks its currency's own minor unit.
_AMOUNT = {"lt": MAX_AMOUNT, "decimal_places": 4, "allow_inf_nan": False}


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("must be positive")
    return amount


def _amount_schema(low: dict[str, float]) -> WithJsonSchema:
    """A decimal string in ``ledger.money.AMOUNT_TEXT``'s grammar (signed when ``low``
    lets it below zero), or a JSON number, below ``MAX_AMOUNT``."""
    sign = "-?" if low.get("exclusiveMinimum", 0) < 0 else ""
    text = {"type": "string", "pattern": f"^{sign}{AMOUNT_TEXT.pattern.removeprefix('-?')}$"}
    return WithJsonSchema({"anyOf": [text, {"type": "number", **low, "exclusiveMaximum": float(MAX_AMOUNT)}]})


# Every amount is read strictly (``ledger.money.parse_amount``); only an adjustment may be negative.
Amount = Annotated[Decimal, BeforeValidator(lambda v: parse_amount(v, signed=True)), Field(gt=-MAX_AMOUNT, **_AMOUNT),
                   _amount_schema({"exclusiveMinimum": -float(MAX_AMOUNT)})]
PositiveAmount = Annotated[Decimal, BeforeValidator(parse_amount), Field(**_AMOUNT), AfterValidator(_positive),
                           _amount_schema({"exclusiveMinimum": 0.0})]
NonNegativeAmount = Annotated[Decimal, BeforeValidator(parse_amount), Field(**_AMOUNT), _amount_schema({"minimum": 0.0})]
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]
_PERIOD = r"^(19\d\d|2\d\d\d)-(0[1-9]|1[0-2])$"


def _period(text: str) -> str:
    if re.fullmatch(_PERIOD, text) is None:
        raise ValueError(f"give a month as YYYY-MM, from {EARLIEST.year}-01 to {LATEST.year}-12")
    return text


Period = Annotated[str, AfterValidator(_period), Field(json_schema_extra={"pattern": _PERIOD})]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The field whose value is this command's idempotency key, if it has one.
    KEY_FIELD: ClassVar[str | None] = None
    _keyed_by_origin: bool = PrivateAttr(default=False)

    type: str = Field(description="the command's name, e.g. `record_payment`")  # each command narrows it to its literal name
    at: Moment | None = Field(None, description=(
        "effective (business) time, ISO-8601 date-time (`2025-03-01T00:00:00Z`; without an offset it is UTC); "
        "default: when the ledger receives the command"))
    actor: Name | None = Field(None, description=(
        "who issued the command (a user or a system), kept in the audit trail; default: the entry point "
        "(`cli`, `kafka`, `api`)"))
    command_id: Name | None = Field(None, description=(
        "idempotency key, the caller's own: the same `command_id` from the same caller with the same content "
        "returns the first result and records nothing; with other content it is refused with `conflict`"))

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def has_own_keys(self) -> bool:
        """Whether the command carries idempotency keys of its own (a business id, a
        ``command_id``): ``idempotency_keys`` has none without them, and ``keyed_by``
        asks this rather than building the key strings."""
        return self.KEY_FIELD is not None or self.command_id is not None

    def idempotency_keys(self, caller: str | None = None) -> list[str]:
        """The keys that make a second delivery a no-op. The business id (``KEY_FIELD``)
        is global: one payment is one payment, whoever sends it. ``command_id`` is the
        caller's own, scoped by ``caller`` (``Principal.caller``, ``kafka``): the same
        command id from two callers is two commands. The CLI's (None) keep their
        original form, so files applied before keys were scoped stay applied."""
        keys: list[str] = []
        if not self.has_own_keys:
            return keys
        if self.KEY_FIELD is not None:
            keys.append(f"{self.KEY_FIELD.removesuffix('_id')}:{getattr(self, self.KEY_FIELD)}")
        if self.command_id is not None:
            keys.append(f"command@{caller}:{self.command_id}" if caller else f"command:{self.command_id}")
        return keys

    def keyed_by(self, origin_key: str) -> Command:
        """This command with an idempotency key derived from where it came from (a
        file's content and line), if it has no key of its own. Such a command's first
        outcome is kept even when it is a refusal: delivering it again replays that
        outcome instead of deciding anew on a ledger that has moved on, so applying a
        file again (after an interruption, or twice at once) ends as one run would."""
        if self.has_own_keys:
            return self
        keyed = self.model_copy(update={"command_id": origin_key})
        keyed._keyed_by_origin = True
        return keyed

    @property
    def keyed_by_origin(self) -> bool:
        return self._keyed_by_origin

    def content(self) -> dict[str, Any]:
        """What makes two deliveries the same command: everything but who sent it and
        when, unless the effective time was given explicitly."""
        exclude = {"actor", "command_id"} | ({"at"} if "at" not in self.model_fields_set else set())
        return self.model_dump(mode="json", exclude=exclude)


class FieldError(ValueError):
    """A model-level check that knows which field is at fault (pydantic would not)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.reason = field, message


def _check_precision(amount: Decimal, currency: str, field: str) -> None:
    if amount != amount.quantize(minor_unit(currency)):
        raise FieldError(field, f"{amount} has more decimal places than {currency} allows")


class _Money(Command):
    """Commands with an ``amount`` in a ``currency``."""

    amount: Decimal
    currency: Currency

    @model_validator(mode="after")
    def _precision(self) -> _Money:
        _check_precision(self.amount, self.currency, "amount")
        return self


# -- programs --------------------------------------------------------------------------

PROGRAM_ID = "the partner program, e.g. `acme`"
PARTNER_ID = "the partner's id (chosen by you when the partner applies)"
CUSTOMER_ID = "the customer's (tenant's) id in your billing system"
PAYMENT_ID = "the billing system's id of the payment"
REASON = "why, in words; kept in the audit trail"


def _iso_terms(terms: Terms) -> Terms:
    """The terms' currencies are ISO 4217 codes (the catalogue's model checks only the shape)."""
    for index, code in enumerate([terms.currency, *terms.currencies]):
        if code not in CURRENCIES:
            field = "currency" if index == 0 else f"currencies.{index - 1}"
            raise FieldError(field, f"{code!r} is not an ISO 4217 currency")
    return terms


def _strict_terms_money(terms: Any, handler: ValidatorFunctionWrapHandler) -> Terms:
    """The terms' one amount, the payout minimum, is read as strictly as a command's
    (the catalogue's model reads stored events, and stays as lenient as what they hold);
    a bad minimum is reported beside every other bad field of the terms."""
    payout = terms.get("payout") if isinstance(terms, dict) else None
    if not isinstance(payout, dict) or payout.get("minimum") is None:
        return cast(Terms, handler(terms))
    try:
        minimum = parse_amount(payout["minimum"])
    except ValueError as refusal:
        problems = [InitErrorDetails(type="value_error", loc=("payout", "minimum"), input=payout["minimum"],
                                     ctx={"error": refusal})]
    else:
        return cast(Terms, handler({**terms, "payout": {**payout, "minimum": minimum}}))
    try:
        handler({**terms, "payout": {k: v for k, v in payout.items() if k != "minimum"}})
    except ValidationError as others:
        problems[:0] = [InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))  # type: ignore[typeddict-item]
                     for e in others.errors()]
    raise ValidationError.from_exception_data("Terms", problems)


CheckedTerms = Annotated[Terms, WrapValidator(_strict_terms_money), AfterValidator(_iso_terms)]
_TERMS: TypeAdapter[Terms] = TypeAdapter(CheckedTerms)


class DefineProgram(Command):
    """Define a partner program: its commission terms, given in full or taken from a preset."""

    type: Literal["define_program"]
    program_id: Id = Field(description="a new program's id, e.g. `acme`")
    terms: CheckedTerms | None = Field(None, description="the program's terms (give `terms` or `preset`, not both)")
    preset: Literal["refer-resell", "sales-partner", "referral-tiers"] | None = Field(
        None, description="start from a built-in program's terms instead of giving `terms`")

    @model_validator(mode="after")
    def _one_source(self) -> DefineProgram:
        if (self.terms is None) == (self.preset is None):
            raise ValueError("give either terms or preset")
        return self


class ChangeProgramTerms(Command):
    """Give a program new terms from the effective time on; earlier payments keep the terms they were earned under.
    Give either ``terms`` (in full) or ``terms_patch`` (RFC 7396: only what changes); the result is answered."""

    type: Literal["change_program_terms"]
    program_id: KnownId = Field(description=PROGRAM_ID)
    terms: CheckedTerms | None = Field(None, description="the program's new terms, in full (or give `terms_patch`)")
    terms_patch: dict[str, Any] | None = Field(None, description=(
        "a JSON Merge Patch (RFC 7396) of the terms in force at `at`: objects merge key by key, `null` removes a key,"
        " anything else replaces the value, e.g. `{\"payout\": {\"minimum\": \"50.00\"}}`"))

    @model_validator(mode="after")
    def _one_change(self) -> ChangeProgramTerms:
        if (self.terms is None) == (self.terms_patch is None):
            raise FieldError("terms", "give either terms (all of them) or terms_patch (what changes)")
        return self


def checked_terms(value: Any) -> Terms:
    """Terms validated as a command's would be (ISO currencies included)."""
    return _TERMS.validate_python(value)


class ClosePromo(Command):
    """Close a program's launch promotion: no new partner gets the promo rate (holders keep it)."""

    type: Literal["close_promo"]
    program_id: KnownId = Field(description=PROGRAM_ID)


# -- partners --------------------------------------------------------------------------


def _number_as_text(value: Any) -> Any:
    """Forms and import scripts send numbers for free-text fields: keep them as written."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return value


# Free text that may arrive as a JSON number ("expected_pipeline": 12 is "12").
ProfileText = Annotated[Text, BeforeValidator(_number_as_text)]


class ApplicationProfile(BaseModel):
    """Who is applying. The contact e-mail is personal data: stored sealed, never published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    company: ProfileText = Field(description="the partner's company name")
    contact_email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] = Field(
        description="the partner's contact e-mail address (personal data: sealed, erasable with `forget_partner`)")
    website: ProfileText | None = Field(None, description="the partner's web site")
    city: ProfileText = Field(description="city of the partner's office")
    country: ProfileText = Field(description="country of the partner's office (e.g. an ISO 3166 code such as `DE`)")
    business_type: ProfileText = Field(description="what kind of business the partner is, e.g. `agency`, `consultancy`, `reseller`")
    team_size: Count = Field(description="number of people in the partner's team (`5` or `\"5\"`)")
    client_count: Count = Field(description="number of clients the partner serves today")
    focus_market: ProfileText | None = Field(None, description="the market the partner sells to, e.g. `SMB retail`")
    expected_pipeline: ProfileText | None = Field(
        None, description="the business the partner expects to bring, in words (a number is kept as written)")


class SubmitApplication(Command):
    """Record a partner's application to a program; it waits for approval or rejection."""

    type: Literal["submit_application"]
    partner_id: Id = Field(description="a new partner's id")
    program_id: KnownId = Field(description="the program applied to")
    profile: ApplicationProfile = Field(description="who is applying")


class ApproveApplication(Command):
    """Approve an application: the partner starts earning, at its level's rate (or the promo rate while slots remain)."""

    type: Literal["approve_application"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    level: Name | None = Field(None, description="one of the program's levels; default: the program's `default_level`")
    rate: Rate | None = Field(None, description=(
        "a commission rate for this partner only, a decimal fraction (`0.25` = 25 %); overrides the level's rate "
        "and takes no promo slot"))


class RejectApplication(Command):
    """Reject an application that is waiting for a decision."""

    type: Literal["reject_application"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    reason: Text = Field(description=REASON)


class ChangeLevel(Command):
    """Move an approved partner to another level of its program (payments from then on earn that level's rate)."""

    type: Literal["change_level"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    level: Name = Field(description="one of the program's levels")


class SetCommissionRate(Command):
    """Give an approved partner its own commission rate, or clear it (null) to fall back to its level's rate."""

    type: Literal["set_commission_rate"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    rate: Rate | None = Field(description="a decimal fraction (`0.30` = 30 %), or null to clear the partner's own rate")


# The signed form travels base64 inside one command (at most ``parsing.MAX_BYTES``).
MAX_SIGNED_FORM_BYTES = 512 * 1024
Country = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")]
TaxId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=64, pattern=PRINTABLE)]
_FORM_DETAILS = ("legal_name", "country", "tax_id")


class SignedFormFile(BaseModel):
    """The signed form as a file: a PDF, base64."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    media_type: Literal["application/pdf"] = Field("application/pdf", description="only `application/pdf`")
    content_base64: str = Field(max_length=MAX_SIGNED_FORM_BYTES * 4 // 3 + 4, description=(
        f"the file, base64 (at most {MAX_SIGNED_FORM_BYTES // 1024} KiB once decoded); sealed in the vault"))

    @field_validator("content_base64")
    @classmethod
    def _a_pdf(cls, text: str) -> str:
        try:
            content = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not base64") from None
        if len(content) > MAX_SIGNED_FORM_BYTES:
            raise ValueError(f"the file has {len(content)} bytes; at most {MAX_SIGNED_FORM_BYTES} are accepted")
        if not content.startswith(b"%PDF-"):
            raise ValueError("the file is not a PDF")
        return text

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class SubmitTaxForm(Command):
    """Hand in the partner's tax form (programs can require one before paying out): the partner itself or an admin.
    A statement that carried its balance forward only for want of it becomes due at once."""

    type: Literal["submit_tax_form"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    form: TaxForm = Field(description="which form: `W-9` (US persons), `W-8BEN` (foreign individuals) or `W-8BEN-E` (foreign entities)")
    legal_name: Text | None = Field(None, description=(
        "the name on the form (personal data: sealed); with `country` and `tax_id`, all three or none"))
    country: Country | None = Field(None, description="the country on the form, ISO 3166 alpha-2 (`US` for a W-9, another for a W-8)")
    tax_id: TaxId | None = Field(None, description="the tax id on the form (personal data: sealed, shown as `****6789`)")
    signed_form: SignedFormFile | None = Field(None, description="the signed form as a PDF (optional)")

    @model_validator(mode="after")
    def _details_together(self) -> SubmitTaxForm:
        missing = [name for name in _FORM_DETAILS if getattr(self, name) is None]
        if missing and len(missing) < len(_FORM_DETAILS):
            raise FieldError(missing[0], f"missing: {', '.join(missing)} (legal_name, country and tax_id go together)")
        if self.country is not None and (self.form == "W-9") != (self.country == "US"):
            wanted = "a W-9 is for US persons: country US" if self.form == "W-9" else f"a {self.form} is for foreign persons: not US"
            raise FieldError("country", f"{self.country} does not fit the form ({wanted})")
        return self


PayoutMethod = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=MAX_ID,
                                                pattern=PRINTABLE)]


class SetPayoutDetails(Command):
    """Record where the partner is paid: the partner itself or an admin. The account is stored sealed and shown masked.
    An `iban` is checked (country, length, checksum) with its bank's BIC; a `paypal` account is an e-mail address."""

    type: Literal["set_payout_details"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    method: PayoutMethod = Field(description="how the partner is paid: `iban` or `paypal` (checked), or another, e.g. `ach`")
    account: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=MAX_ID, pattern=PRINTABLE)] = Field(
        description="the account number or address (personal data: sealed, shown as `****3000`, erasable)")
    bic: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=11, pattern=PRINTABLE)] | None = Field(
        None, description="the bank's BIC for an `iban` (default: the one the IBAN's bank code names, where known)")

    @model_validator(mode="after")
    def _checked(self) -> SetPayoutDetails:
        if self.method == "iban":
            iban = _iban(self.account)
            bic = _bic(self.bic, iban) if self.bic else iban.bic
            if bic is None:
                raise FieldError("bic", "give the bank's BIC: it cannot be told from this IBAN")
            object.__setattr__(self, "account", iban.compact)
            object.__setattr__(self, "bic", str(bic))
        elif self.bic is not None:
            raise FieldError("bic", f"only an iban has a BIC, not {self.method}")
        if self.method == "paypal" and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.account) is None:
            raise FieldError("account", "a PayPal account is its e-mail address")
        return self


def _iban(text: str) -> IBAN:
    try:
        return IBAN(text)
    except SchwiftyException as bad:
        raise FieldError("account", f"not a valid IBAN: {bad}") from None


def _bic(text: str, iban: IBAN) -> BIC:
    try:
        bic = BIC(text)
    except SchwiftyException as bad:
        raise FieldError("bic", f"not a valid BIC: {bad}") from None
    if bic.country_code != iban.country_code:
        raise FieldError("bic", f"a bank in {bic.country_code}, but the IBAN is from {iban.country_code}")
    return bic


ContactEmail = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class UpdateProfile(Command):
    """Change the partner's contact e-mail and/or website: the partner itself or an admin."""

    type: Literal["update_profile"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    contact_email: ContactEmail | None = Field(
        None, description="the new contact e-mail (personal data: sealed); default: unchanged")
    website: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT, pattern=PRINTABLE)] | None = Field(
        None, description="the new website (personal data: sealed); `\"\"` removes it; default: unchanged")

    @model_validator(mode="after")
    def _something(self) -> UpdateProfile:
        if self.contact_email is None and self.website is None:
            raise FieldError("contact_email", "give contact_email, website or both")
        return self


class RevealPayoutAccount(Command):
    """Record that finance or an admin was shown a partner's full payout account (the
    consoles send it before showing one: on the payouts page, in the payouts CSV and in
    the payment files). Who and when are the command's actor and time; nothing else changes."""

    type: Literal["reveal_payout_account"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    shown_in: Literal["payouts page", "payouts CSV", "SEPA file", "PayPal file"] = Field(
        description="where the account was shown: `payouts page`, `payouts CSV`, `SEPA file` or `PayPal file`")


class IssueSignInLink(Command):
    """Record that an admin gave an approved partner a new one-time sign-in link (the admin
    console sends it when it makes the link; the link is a secret and never recorded)."""

    type: Literal["issue_sign_in_link"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    invite_id: Id = Field(description="the id of the invite made (`ledger token list` shows it), never its secret")
    expires_at: Moment = Field(description="when the link stops working (ISO 8601)")


class CompleteTraining(Command):
    """Record that the partner completed the program's training (programs can require it for leads or payouts)."""

    type: Literal["complete_training"]
    partner_id: KnownId = Field(description=PARTNER_ID)


class RecordMeeting(Command):
    """Record a meeting with the partner (counted on the partner's record)."""

    type: Literal["record_meeting"]
    partner_id: KnownId = Field(description=PARTNER_ID)


class SetActiveUntil(Command):
    """Keep an approved partner's status locked (active) until a date, or clear that lock (null)."""

    type: Literal["set_active_until"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    until: Day | None = Field(description="last day of the lock, `YYYY-MM-DD`, or null to clear it")


class TerminatePartner(Command):
    """End a partnership: payments from the effective time on earn the partner nothing."""

    type: Literal["terminate_partner"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    reason: Text = Field(description=REASON)


class ForgetPartner(Command):
    """Erase a partner's personal data (destroys its key); balances, statements and the audit trail stay intact."""

    type: Literal["forget_partner"]
    partner_id: KnownId = Field(description=PARTNER_ID)
    reason: Text = Field(description=REASON)


# -- customers --------------------------------------------------------------------------


Channel = Literal["link", "code", "lead", "resell"]
# A partner code as a customer types it: any case, with or without dashes and spaces.
PartnerCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=PRINTABLE)]
REFERRAL_CODE = ("a partner's private code as the customer gave it (any case, dashes optional), instead of `partner_id`:"
                 " channel `code`; refused with `unknown_referral` or `code_rotated`")
REFERRAL_LINK = ("a partner's referral link (the `ref` query parameter the landing page received), instead of"
                 " `partner_id`: channel `link`; refused with `unknown_referral`")


class _Referred(Command):
    """Commands that may name the partner by its code or link instead of its id."""

    referral_code: PartnerCode | None = Field(None, description=REFERRAL_CODE)
    referral_link: Name | None = Field(None, description=REFERRAL_LINK)

    @model_validator(mode="after")
    def _one_referral(self) -> _Referred:
        if self.referral_code is not None and self.referral_link is not None:
            raise FieldError("referral_link", "give referral_code or referral_link, not both")
        return self

    @property
    def referral_channel(self) -> Channel | None:
        if self.referral_code is not None:
            return "code"
        return "link" if self.referral_link is not None else None


class SignUpCustomer(_Referred):
    """Record a new customer (tenant) of your product; with a referral code or link, also attribute it to that partner."""

    type: Literal["sign_up_customer"]
    customer_id: Id = Field(description="the new customer's id in your billing system")
    email: Email | None = Field(
        None, description="the customer's e-mail (personal data: sealed, erasable; used to detect self-referrals and "
                          "to find a partner's open lead for it)")
    company: Text | None = Field(None, description="the customer's company name")


class ClaimCustomer(_Referred):
    """Attribute a customer to a partner; the first claim that qualifies wins, a failed claim is recorded as refused."""

    type: Literal["claim_customer"]
    customer_id: Id = Field(description=CUSTOMER_ID)
    partner_id: KnownId | None = Field(None, description="the partner claiming the customer (or give `referral_code` or `referral_link`)")
    channel: Channel | None = Field(None, description=(
        "how the partner brought the customer: `link` (referral link), `code` (referral code), `lead` (registered lead), "
        "`resell` (the partner resells: it earns a discount, not a commission); required with `partner_id`, "
        "implied by `referral_code` / `referral_link`"))

    @model_validator(mode="after")
    def _one_partner(self) -> ClaimCustomer:
        given = [name for name in ("partner_id", "referral_code", "referral_link") if getattr(self, name) is not None]
        if len(given) != 1:
            raise FieldError("partner_id", "give exactly one of partner_id, referral_code, referral_link")
        if self.partner_id is not None and self.channel is None:
            raise FieldError("channel", "give the channel the partner brought the customer through")
        implied = self.referral_channel
        if implied is not None and self.channel not in (None, implied):
            raise FieldError("channel", f"a claim by {given[0]} has channel {implied!r}")
        return self


class CreateResoldCustomer(Command):
    """A reseller creates its customer's account: signed up and attributed to it (channel `resell`) in one step."""

    type: Literal["create_resold_customer"]
    partner_id: KnownId = Field(description="the reselling partner (a partner's own token may only create its own customers)")
    customer_id: Id = Field(description="the new customer's own account id (one account per customer: no pooling)")
    company: Text = Field(description="the customer's company name (personal data: sealed, erasable)")
    email: Email | None = Field(None, description=(
        "the customer's e-mail (personal data: sealed); an address that already has an account is refused"))
    do_not_contact: bool = Field(False, description="true: you ask that the seller does not contact this customer directly")


class RotatePartnerCode(Command):
    """Give the partner a new private code: the old one stops resolving, customers already attributed stay."""

    type: Literal["rotate_partner_code"]
    partner_id: KnownId = Field(description="the partner (a partner's own token may only rotate its own code)")


class SetNotices(Command):
    """Turn the partner's notice e-mails on or off (statement issued, payout recorded, ...); sign-in mails are always sent."""

    type: Literal["set_notices"]
    partner_id: KnownId = Field(description="the partner (a partner's own token may only set its own)")
    notices: bool = Field(description="true: send the notices; false: send none")


class SubmitLead(Command):
    """A partner submits a lead (a company not yet a customer); it is attributed to the partner when its contact signs up."""

    KEY_FIELD = "lead_id"
    type: Literal["submit_lead"]
    lead_id: Id = Field(description="your id of the lead; also its idempotency key")
    partner_id: KnownId = Field(description="the partner submitting it (a partner's own token may only submit its own)")
    company: Text = Field(description="the lead's company name (personal data: sealed)")
    email: Email = Field(description="the lead's contact e-mail (personal data: sealed; the lead is matched by it)")
    note: Text | None = Field(None, description="anything the seller should know (sealed)")


class SetDoNotContact(Command):
    """Mark a resold customer as do-not-contact (or clear the mark)."""

    type: Literal["set_do_not_contact"]
    customer_id: KnownId = Field(description="a customer attributed through `resell`")
    value: bool = Field(description="true to mark, false to clear")


class ForgetCustomer(Command):
    """Erase a customer's personal data (destroys its key); the money it moved stays on the books."""

    type: Literal["forget_customer"]
    customer_id: KnownId = Field(description=CUSTOMER_ID)
    reason: Text = Field(description=REASON)


# -- money -----------------------------------------------------------------------------

AMOUNT = ("in the currency's units as a decimal string, e.g. `99.00`: ASCII digits, at most one `.` with digits on both"
          " sides, no more decimal places than the currency has")


class PaymentLine(RevenueLine):
    """One line of a payment: a kind of revenue and its amount before tax."""

    kind: Name = Field(description=(
        "kind of revenue, e.g. `subscription`, `platform_fee`, `message_overage`; the program's "
        "`commissionable_revenue` says which kinds earn commission"))
    amount: PositiveAmount = Field(description=f"the line's amount before tax, {AMOUNT}; more than zero")


class RecordPayment(Command):
    """Record a customer's payment; its partner earns commission (or a resale discount) on the commissionable lines."""

    KEY_FIELD = "payment_id"
    type: Literal["record_payment"]
    payment_id: Id = Field(description=f"{PAYMENT_ID}; also its idempotency key")
    customer_id: KnownId = Field(description="the paying customer")
    currency: Currency = Field(description="ISO 4217 code of the payment, e.g. `USD`")
    lines: Annotated[list[PaymentLine], Field(min_length=1)] = Field(description="what was paid for, at least one line")
    tax: NonNegativeAmount = Field(Decimal("0"), description=f"tax collected on top of the lines (earns nothing), {AMOUNT}")

    @model_validator(mode="after")
    def _precision(self) -> RecordPayment:
        for index, line in enumerate(self.lines):
            _check_precision(line.amount, self.currency, f"lines.{index}.amount")
        _check_precision(self.tax, self.currency, "tax")
        return self


class RecordRefund(Command):
    """Record a refund of (part of) a payment; the partner's commission is clawed back in proportion."""

    KEY_FIELD = "refund_id"
    type: Literal["record_refund"]
    refund_id: Id = Field(description="the billing system's id of the refund; also its idempotency key")
    payment_id: KnownId = Field(description="the payment refunded")
    amount: PositiveAmount = Field(
        description="how much is refunded, in the payment's currency and units as a decimal string, e.g. `53.55`; "
                    "at most what is left of the payment")


class RecordChargeback(Command):
    """Record a chargeback on a payment; the partner's commission is clawed back in proportion."""

    KEY_FIELD = "chargeback_id"
    type: Literal["record_chargeback"]
    chargeback_id: Id = Field(description="the billing system's id of the chargeback; also its idempotency key")
    payment_id: KnownId = Field(description="the payment charged back")
    amount: PositiveAmount = Field(
        description="how much is charged back, in the payment's currency and units as a decimal string, e.g. `53.55`; "
                    "at most what is left of the payment")


class RecordCost(_Money):
    """Record a cost spent on a referred customer (marketing, travel); the partner's commission rate times it is deducted."""

    KEY_FIELD = "cost_id"
    type: Literal["record_cost"]
    cost_id: Id = Field(description="your id of the cost; also its idempotency key")
    customer_id: KnownId = Field(description="the customer the cost was spent on")
    amount: PositiveAmount = Field(description=f"the cost, {AMOUNT}")
    currency: Currency = Field(description="ISO 4217 code, e.g. `USD`")
    kind: Name = Field(description="what the cost was, e.g. `marketing`, `travel`")


class AdjustCommission(_Money):
    """Correct a partner's commission by hand: a positive amount credits it, a negative one debits it."""

    KEY_FIELD = "adjustment_id"
    type: Literal["adjust_commission"]
    adjustment_id: Id = Field(description="your id of the adjustment; also its idempotency key")
    partner_id: KnownId = Field(description=PARTNER_ID)
    amount: Amount = Field(description=f"the correction, not zero, {AMOUNT}; negative debits")
    currency: Currency = Field(description="ISO 4217 code, e.g. `USD`")
    reason: Text = Field(description=REASON)

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: Decimal) -> Decimal:
        if value == 0:
            raise ValueError("an adjustment of zero changes nothing")
        return value


class ReviewCommission(Command):
    """Decide on commission held for review (a suspected self-referral): release it for payment or void it."""

    type: Literal["review_commission"]
    payment_id: KnownId = Field(description="the payment whose commission is on hold")
    decision: Literal["release", "void"] = Field(description="`release` (payable from now) or `void` (clawed back in full)")
    reason: Text = Field(description=REASON)


class ClosePeriod(Command):
    """Close a month: issue every partner's statement (opening balance, commission lines, closing balance, amount due)."""

    type: Literal["close_period"]
    program_id: KnownId = Field(description=PROGRAM_ID)
    period: Period = Field(description="the month, `YYYY-MM`; it must have ended, and periods close once, in order")


class RecordPayout(_Money):
    """Record money paid to a partner against its issued statements; never more than is due."""

    KEY_FIELD = "payout_id"
    type: Literal["record_payout"]
    payout_id: Id = Field(description="your id of the payout (e.g. the bank transfer's reference); also its idempotency key")
    partner_id: KnownId = Field(description="the partner paid")
    amount: PositiveAmount = Field(description=f"how much was paid, {AMOUNT}; at most what the statements leave due")
    currency: Currency = Field(description="ISO 4217 code of the statements paid, e.g. `USD`")
    statement_ids: Annotated[list[KnownId], Field(min_length=1)] = Field(description=(
        "the statements paid, ids `program/partner/currency/YYYY-MM` as `close_period` issued them"))


class RequestPayout(Command):
    """A partner asks to be paid what is due in a currency; the request waits in finance's queue until a payout is recorded."""

    type: Literal["request_payout"]
    partner_id: KnownId = Field(description="the partner asking (a partner's own token may only ask for itself)")
    currency: Currency = Field(description="ISO 4217 code of the amount due, e.g. `USD`")
    amount: PositiveAmount | None = Field(None, description=(
        f"how much, {AMOUNT}; at most what is due (default: all of it). One open request per currency"))

    @model_validator(mode="after")
    def _precision(self) -> RequestPayout:
        if self.amount is not None:
            _check_precision(self.amount, self.currency, "amount")
        return self


AnyCommand = Annotated[
    DefineProgram | ChangeProgramTerms | ClosePromo | SubmitApplication | ApproveApplication
    | RejectApplication | ChangeLevel | SetCommissionRate | SubmitTaxForm | SetPayoutDetails | RevealPayoutAccount | IssueSignInLink
    | CompleteTraining | RecordMeeting | SetActiveUntil | TerminatePartner | ForgetPartner
    | SignUpCustomer | ClaimCustomer | SetDoNotContact | ForgetCustomer | RecordPayment
    | RecordRefund | RecordChargeback | RecordCost | AdjustCommission | ReviewCommission
    | ClosePeriod | RecordPayout | RequestPayout | RotatePartnerCode | SetNotices | SubmitLead | CreateResoldCustomer | UpdateProfile,
    Field(discriminator="type"),
]
