"""One handler per command, grouped by area. Each checks every rule first and only
then records its events, so a refused command changes nothing (the one exception, by
design: a failed attribution claim records its refusal for the audit trail).

Importing this package registers every handler in ``HANDLERS``.
"""

from commands.handlers import customers, leads, partners, payouts, privacy, programs, referrals, revenue, statements  # noqa: F401
from commands.handlers.base import HANDLERS, Context, Handler, Result

__all__ = ["HANDLERS", "Context", "Handler", "Result"]
