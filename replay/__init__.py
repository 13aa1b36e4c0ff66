"""Rebuild projections from the log, verify them, snapshots and integrity."""
