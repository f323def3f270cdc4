"""Safe MQTT topic segments and identifiers derived from user-chosen camera and zone names."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def topic_segment(name: str) -> str:
    """Lower-case slug of a name that cannot inject MQTT levels or wildcards ('/', '+', '#')."""
    slug = _UNSAFE.sub("_", name.strip().lower()).strip("_")
    return slug or "_"
