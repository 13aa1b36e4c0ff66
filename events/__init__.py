"""The event catalogue: every fact the ledger records, as versioned pydantic models.

This package depends on nothing but pydantic: the write side, projections, replay and
outside consumers (through the exported JSON Schemas) all read the same definitions.
"""

# Importing the modules registers their event classes.
from events import customer, partner, program, receipt, referral, revenue, statement  # noqa: F401
from events.base import Event, EventMeta, event_class_for_topic, registered_events

__all__ = ["Event", "EventMeta", "event_class_for_topic", "registered_events"]
