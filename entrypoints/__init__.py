"""Entry points: the processes people run (CLI, Kafka consumer and relay, HTTP server) and the wiring they share."""
