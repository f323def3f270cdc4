"""A publishing process for the last-will test: publishes state, prints ``ready``, then waits.

    python -m tests.publish.publisher_process CONFIG.json
"""

from __future__ import annotations

import json
import sys
import time

from monitor.config import MonitorConfig
from monitor.publish import Publisher

from .helpers import full_update, status


def main() -> int:
    """Publish until killed (the test sends SIGKILL)."""
    config = MonitorConfig.model_validate(json.loads(open(sys.argv[1]).read()))
    publisher = Publisher(config)
    publisher.start()
    if not publisher.wait_connected(20):
        print(f"not connected: {publisher.health()}", flush=True)
        return 1
    for camera in config.cameras:
        publisher.publish_status(status(camera))
    publisher.publish_update(full_update(config))
    print("ready", flush=True)
    while True:
        time.sleep(0.2)
        publisher.publish_update(full_update(config))


if __name__ == "__main__":
    sys.exit(main())
