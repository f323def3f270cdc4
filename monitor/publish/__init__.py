"""MQTT publishing for dashboards and Home Assistant (topic table in the conventions)."""

from .publisher import Publisher
from .schemas import load_schema, schema_for, schema_names
from .subscribe import Subscription

__all__ = ["Publisher", "Subscription", "load_schema", "schema_for", "schema_names"]
