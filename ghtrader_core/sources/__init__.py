"""Tick sources: each file is one implementation of ``base.TickSource``."""
