"""Base class, metadata and registry shared by every event in the catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

Source = Literal["api", "cli", "kafka", "import", "system"]


class EventMeta(BaseModel):
    """Who and what caused an event, and when it is true in business time.

    The recorded time (when the ledger learnt the fact) is the envelope's timestamp,
    set by the write side; it is not something a caller can choose.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    effective_at: datetime
    actor: str
    source: Source
    correlation_id: str


_REGISTRY: dict[str, type[Event]] = {}


class Event(BaseModel):
    """An immutable fact. Subclasses set a stable ``TOPIC`` and a ``SCHEMA_VERSION``.

    The topic, never the Python path, names the event in storage, so classes can move
    between modules without breaking stored events. When a payload's shape changes,
    bump ``SCHEMA_VERSION`` and add ``upcast_vN_vN1(state)`` static methods that bring
    an older stored payload (a JSON dict) up one version.
    """

    # Validators are built when an event type is first validated, not at import: most
    # processes never validate most types (replay folds stored JSON, a query reads
    # tables), and building them all cost about 0.1 s of CPU at every start.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    TOPIC: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        topic = cls.__dict__.get("TOPIC")
        if topic is None:
            return
        if topic in _REGISTRY and _REGISTRY[topic].__qualname__ != cls.__qualname__:
            raise TypeError(f"event topic {topic!r} registered twice")
        _REGISTRY[topic] = cls

    @classmethod
    def upcast(cls, state: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Bring a stored payload from ``from_version`` to the current schema version."""
        version = from_version
        while version < cls.SCHEMA_VERSION:
            step = getattr(cls, f"upcast_v{version}_v{version + 1}", None)
            if step is None:
                raise LookupError(f"{cls.TOPIC}: no upcaster from v{version}")
            state = step(state)
            version += 1
        return state


def event_class_for_topic(topic: str) -> type[Event]:
    try:
        return _REGISTRY[topic]
    except KeyError:
        raise LookupError(f"unknown event topic {topic!r}") from None


def registered_events() -> dict[str, type[Event]]:
    return dict(_REGISTRY)
