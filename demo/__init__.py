"""Seeded sample histories for the ledger: ``python -m demo`` and ``make demo``.

``demo.generate`` streams realistic partner-program commands (deterministic for a seed
and a size); ``demo.summary`` reads the result back from the read models.
"""

from demo.generate import SIZES, generate, write_jsonl

__all__ = ["SIZES", "generate", "write_jsonl"]
