"""The one error a command can be refused with: a code, a reason and the field at
fault, plus every other problem found in the same command (``problems``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a command: which field, what kind of problem, and why."""

    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "code": self.code, "message": self.message}


class CommandRejected(Exception):
    """Raised before anything is recorded, so the command changes nothing, unless
    ``recorded`` says the refusal itself was kept as evidence."""

    def __init__(
        self, code: str, message: str, field: str | None = None, *, recorded: bool = False,
        problems: list[Problem] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # True when the refusal itself was recorded (a failed attribution claim).
        self.recorded = recorded
        # Every problem found, the first one being (code, message, field) itself.
        self.problems = problems or [Problem(code, message, field)]

    @classmethod
    def of(cls, problems: list[Problem]) -> CommandRejected:
        first = problems[0]
        return cls(first.code, first.message, first.field, problems=problems)

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


def reject(code: str, message: str, field: str | None = None) -> CommandRejected:
    return CommandRejected(code, message, field)


class WriteRefused(Exception):
    """The database refused a batch for a reason no retry can cure (a NOT NULL, CHECK or
    append-only rule broken: a bug or a tampered database), unlike a conflict with
    another writer. Nothing of the batch was recorded."""
