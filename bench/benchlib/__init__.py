"""The experiment suite: runs the real orderer and peer-sim against Kafka and
records every run before any summary."""
