"""Stores: each package is one backend implementing ``base.Store`` (registered in its
``backend.py``)."""
