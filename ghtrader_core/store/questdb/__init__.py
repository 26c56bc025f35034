"""The questdb backend."""
