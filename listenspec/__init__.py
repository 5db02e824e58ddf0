"""listenspec: an executable formal specification of listen(2)."""

__version__ = "0.1.0"
