"""Inputs: command models, validation with clear errors, idempotency, dispatch."""
