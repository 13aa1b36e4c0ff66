"""Effective-dated values: what was in force on a given date."""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Timeline(Generic[T]):
    """Values keyed by effective time. A backdated change slots into its place;
    two changes effective at the same instant resolve to the one recorded last."""

    _times: list[tuple[datetime, int]] = field(default_factory=list)
    _values: dict[tuple[datetime, int], T] = field(default_factory=dict)

    def set(self, effective_at: datetime, value: T) -> None:
        key = (effective_at, len(self._times))
        insort(self._times, key)
        self._values[key] = value

    def at(self, on: datetime) -> T | None:
        index = bisect_right(self._times, (on, len(self._times) + 1))
        return self._values[self._times[index - 1]] if index else None

    def first(self) -> T | None:
        return self._values[self._times[0]] if self._times else None
