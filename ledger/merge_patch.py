"""JSON Merge Patch (RFC 7396): how ``change_program_terms`` changes one value of a
program's terms without repeating the rest."""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied: an object patches key by key (``null``
    removes a key), anything else replaces the target whole. Neither is modified."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
