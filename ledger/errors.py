"""The one error a command can be refused with: a code, a reason and the field at fault."""

from __future__ import annotations


class CommandRejected(Exception):
    """Raised before anything is recorded, so the command changes nothing, unless
    ``recorded`` says the refusal itself was kept as evidence."""

    def __init__(
        self, code: str, message: str, field: str | None = None, *, recorded: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # True when the refusal itself was recorded (a failed attribution claim).
        self.recorded = recorded

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


def reject(code: str, message: str, field: str | None = None) -> CommandRejected:
    return CommandRejected(code, message, field)
