"""Programs: terms (effective-dated, never edited) and the launch promo."""

from __future__ import annotations

from commands import models as m
from commands.handlers.base import Context, Result, handles
from events.program import ProgramDefined, ProgramTermsChanged, PromoClosed
from ledger.errors import reject
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
    program = ctx.program(c.program_id)
    ctx.record(program, ProgramTermsChanged(program_id=c.program_id, terms=c.terms))
    return {"program_id": c.program_id}


@handles(m.ClosePromo)
def close_promo(ctx: Context, c: m.ClosePromo) -> Result:
    program = ctx.program(c.program_id)
    if program.promo_closed:
        raise reject("invalid_state", "the promo is already closed", "program_id")
    ctx.record(program, PromoClosed(program_id=c.program_id))
    return {"program_id": c.program_id, "promo_holders": list(program.promo_holders)}
