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
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.console.running import start_browser, start_site, stop_site  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(pid: int, seconds: float) -> float:
    """The process's CPU use over ``seconds``, in percent of one core."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


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
