"""What a browser watching the console costs the daemon: its CPU with no client, then with one.

Starts the console tests' site (a real Mosquitto, an RTSP camera of Mall frames, a blind camera,
an unreachable one, ``crowd-monitor run``), measures the daemon's CPU time (user + system, from
/proc) for ``--seconds`` with no client, then for as long with headless chromium showing
``/console`` (server-sent events, one picture per frame), and prints JSON.  Run from the
repository root; needs what ``tests/console/test_browser.py`` needs.

    python bench/console_load.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from soak import process_cpu_s  # noqa: E402 (bench/ is this script's folder)
from tests.console.running import start_browser, start_site, stop_site  # noqa: E402


def measure(pid: int, seconds: float) -> float:
    """The process's CPU use over ``seconds``, in percent of one core."""
    start_cpu, start = process_cpu_s(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (process_cpu_s(pid) - start_cpu) / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        site = start_site(Path(folder))
        try:
            time.sleep(10)  # past the start: engine warm, cameras settled
            idle = measure(site.daemon.pid, args.seconds)
            browser = start_browser()
            try:
                browser.get(site.url("/console"))
                time.sleep(5)
                watched = measure(site.daemon.pid, args.seconds)
                frames = browser.execute_script('return document.querySelector(".camera img").dataset.loaded')
            finally:
                browser.quit()
        finally:
            stop_site(site)
    print(json.dumps({"seconds": args.seconds, "daemon_cpu_percent_no_client": round(idle, 2),
                      "daemon_cpu_percent_one_browser": round(watched, 2),
                      "added_percent_of_one_core": round(watched - idle, 2), "last_frame_seq_shown": frames}))


if __name__ == "__main__":
    main()
