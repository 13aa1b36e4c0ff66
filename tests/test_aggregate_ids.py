"""An aggregate's id is RFC 4122's name-based (SHA-1) UUID of "<kind>:<key>" in the
ledger's namespace, whatever the key: the ids of every aggregate already stored."""

from __future__ import annotations

from uuid import uuid5

from hypothesis import given
from hypothesis import strategies as st

from ledger.aggregate import LEDGER_NAMESPACE, _aggregate_id


@given(kind=st.sampled_from(["payment", "customer", "partner", "program", "account", "referral"]), key=st.text())
def test_an_aggregate_id_is_the_uuid5_of_its_kind_and_key(kind: str, key: str) -> None:
    made = _aggregate_id.__wrapped__(kind, key)
    assert made == uuid5(LEDGER_NAMESPACE, f"{kind}:{key}")
