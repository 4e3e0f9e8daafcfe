"""The fleet plane: many trees under one kill switch, over NATS JetStream (docs/adr/0015)."""
