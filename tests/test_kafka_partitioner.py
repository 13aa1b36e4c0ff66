"""The producers' partitioner places every record as kafka-python's default one does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner import DefaultPartitioner

from adapters.kafka_partitioner import KEYS_REMEMBERED, KeyHashCachingPartitioner, key_hash


class Cluster:
    """What a partitioner reads of kafka-python's ``ClusterMetadata``."""

    def __init__(self, partitions: dict[str, set[int]]) -> None:
        self.partitions = partitions

    def topics(self) -> set[str]:
        return set(self.partitions)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return set(self.partitions[topic]) if topic in self.partitions else None

    def available_partitions_for_topic(self, topic: str) -> set[int] | None:
        return self.partitions_for_topic(topic)


def place(partitioner: Any, key: bytes | None, cluster: Cluster, topic: str = "t") -> int:
    return int(partitioner.partition(topic, key, key, b"v", b"v", cluster))


@given(
    keys=st.lists(st.binary(max_size=64), min_size=1, max_size=20),
    partitions=st.sets(st.integers(min_value=0, max_value=40), min_size=1, max_size=12),
)
def test_a_keyed_record_goes_where_the_default_partitioner_puts_it(keys: list[bytes], partitions: set[int]) -> None:
    cluster = Cluster({"t": partitions})
    cached = KeyHashCachingPartitioner()
    for key in keys + keys:  # the second time from the remembered hash
        assert place(cached, key, cluster) == place(DefaultPartitioner(), key, cluster)


def test_a_topic_with_more_partitions_moves_keys_as_the_default_partitioner_does() -> None:
    cached = KeyHashCachingPartitioner()
    for count in (1, 3, 6, 12):
        cluster = Cluster({"t": set(range(count))})
        for key in (b"p1", b"partner-0042", b"0d2f1c8e-7a6b-4c3d-9e8f-1a2b3c4d5e6f"):
            assert place(cached, key, cluster) == place(DefaultPartitioner(), key, cluster)


def test_unkeyed_records_and_unknown_topics_go_the_librarys_way() -> None:
    cluster = Cluster({"t": {0, 1, 2}})
    assert place(KeyHashCachingPartitioner(), None, cluster) in {0, 1, 2}
    with pytest.raises(ValueError, match="not found"):
        place(KeyHashCachingPartitioner(), b"p1", cluster, topic="missing")


def test_the_remembered_hashes_are_bounded() -> None:
    cluster = Cluster({"t": set(range(6))})
    for i in range(KEYS_REMEMBERED + 10):
        place(KeyHashCachingPartitioner(), b"k%d" % i, cluster)
    assert key_hash.cache_info().currsize <= KEYS_REMEMBERED

