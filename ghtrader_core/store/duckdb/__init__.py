"""The duckdb backend."""
