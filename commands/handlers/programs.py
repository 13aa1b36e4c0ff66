"""Programs: terms (effective-dated, never edited) and the launch promo."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from commands import models as m
from commands.handlers.base import Context, Result, handles
from commands.parsing import validation_problems
from events.program import ProgramDefined, ProgramTermsChanged, PromoClosed, Terms
from ledger.errors import CommandRejected, reject
from ledger.merge_patch import merge_patch
from ledger.presets import preset_terms
from ledger.program import Program


@handles(m.DefineProgram)
def define_program(ctx: Context, c: m.DefineProgram) -> Result:
    if ctx.uow.get(Program, c.program_id) is not None:
        raise reject("conflict", f"program {c.program_id!r} is already defined", "program_id")
    terms = c.terms if c.terms is not None else preset_terms(str(c.preset))
    program = ctx.uow.new(Program, c.program_id)
    ctx.record(program, ProgramDefined(program_id=c.program_id, terms=terms, preset=c.preset))
    return {"program_id": c.program_id, "preset": c.preset}


@handles(m.ChangeProgramTerms)
def change_program_terms(ctx: Context, c: m.ChangeProgramTerms) -> Result:
    """Answers with the resulting terms, so a patch's effect is plain to see."""
    program = ctx.program(c.program_id)
    terms = c.terms
    if terms is None:
        assert c.terms_patch is not None
        terms = patched_terms(program.terms_on(ctx.meta.effective_at), c.terms_patch)
    ctx.record(program, ProgramTermsChanged(program_id=c.program_id, terms=terms))
    return {"program_id": c.program_id, "terms": terms.model_dump(mode="json")}


def patched_terms(current: Terms, patch: dict[str, Any]) -> Terms:
    """The terms in force with ``patch`` merged in; refused, naming every field
    (``terms_patch.payout.minimum``), when the result is not valid terms."""
    try:
        return m.checked_terms(merge_patch(current.model_dump(mode="json"), patch))
    except ValidationError as exc:
        raise CommandRejected.of(validation_problems(exc, "terms_patch")) from None


@handles(m.ClosePromo)
def close_promo(ctx: Context, c: m.ClosePromo) -> Result:
    program = ctx.program(c.program_id)
    if program.promo_closed:
        raise reject("invalid_state", "the promo is already closed", "program_id")
    ctx.record(program, PromoClosed(program_id=c.program_id))
    return {"program_id": c.program_id, "promo_holders": list(program.promo_holders)}
