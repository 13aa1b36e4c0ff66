"""Adapters: the event store, the key vault and Kafka clients (everything that talks to a server or a file)."""
