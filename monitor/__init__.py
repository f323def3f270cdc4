"""crowd-monitor: real-time crowd counting from cameras to per-zone alerts over MQTT."""

__version__ = "0.1.0"

import engines  # noqa: E402,F401 (sets OpenCV's image size limit before any module loads cv2)
