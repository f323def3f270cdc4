"""crowd-monitor: real-time crowd counting from cameras to per-zone alerts over MQTT."""

__version__ = "0.1.0"
