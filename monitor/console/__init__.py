"""The operator console on the health port: live view, event stream, zone editor and its config writes."""

from .app import Console

__all__ = ["Console"]
