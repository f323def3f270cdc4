"""Helpers for tests: real servers (Mosquitto, RTSP) on free loopback ports, shared data paths."""
