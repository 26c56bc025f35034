"""The replay backend."""
