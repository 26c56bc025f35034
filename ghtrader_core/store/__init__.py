"""Stores: each file is one implementation of ``base.Store``."""
