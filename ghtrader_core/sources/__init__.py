"""Tick sources: each package is one backend implementing ``base.TickSource`` (registered
in its ``backend.py``)."""
