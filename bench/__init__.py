"""Benchmarks: the ledger measured side by side with the physical limit, in one run."""
