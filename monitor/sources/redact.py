"""Credentials in camera URLs never reach logs, statuses or errors: one helper masks them."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query parameters that carry secrets in camera URLs (Axis, Hikvision, Dahua, generic tokens).
_SECRET_KEYS = re.compile(r"(pass|pwd|secret|token|auth|key|sig|credential)", re.IGNORECASE)
# user:password@ anywhere in a text (a URL inside an error message, for instance).
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@")


def redact_url(url: str) -> str:
    """The URL with its password (and user) and secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if not parts.scheme or not parts.netloc:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _SECRET_KEYS.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Any ``scheme://user:password@`` inside free text masked (error messages quote URLs)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
