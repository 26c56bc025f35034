"""The synthetic backend."""
