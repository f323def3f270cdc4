"""MQTT publishing for dashboards and Home Assistant (topic table in the conventions)."""

from .heatmap import encode_heatmap
from .publisher import Publisher
from .schemas import load_schema, schema_for, schema_names

__all__ = ["Publisher", "encode_heatmap", "load_schema", "schema_for", "schema_names"]
