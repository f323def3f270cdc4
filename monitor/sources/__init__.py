"""Camera ingestion: RTSP/HTTP/file/device readers with timeouts, reconnects and status."""

from .kinds import SourceKind, classify
from .reader import CameraReader
from .redact import redact_text, redact_url

__all__ = ["CameraReader", "SourceKind", "classify", "redact_text", "redact_url"]
