"""The tqsdk backend."""
