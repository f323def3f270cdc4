"""The history chart in a real headless browser (Debian's chromium through chromedriver and Selenium).

Real Mall frames over RTSP -> `crowd-monitor run` -> real Mosquitto and SQLite; the history page of
the site zone must chart, bucket by bucket, the means of the counts the daemon published on MQTT,
with the zone's threshold drawn and its alert shaded.  The screenshot goes to docs/console-chart.png.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.daemon.test_end_to_end import wait_event
from tests.daemon.test_history_e2e import BUCKET_S, history_site, mean_slack, published_buckets, \
    published_samples, stored
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "console-chart.png"


def chart_points(driver) -> dict[float, float]:
    """The chart's points as drawn: bucket start -> mean."""
    return {float(c.get_attribute("data-t")): float(c.get_attribute("data-mean"))
            for c in driver.find_elements("css selector", "#chart circle.point")}


@pytest.mark.slow
def test_history_chart_of_a_zone_shows_the_minutes_that_were_published(
        tmp_path, tmp_path_factory, rtsp_server_factory, mosquitto, mqtt_recorder, browser):
    with history_site(tmp_path, tmp_path_factory, rtsp_server_factory, mosquitto, mqtt_recorder) as site:
        recorder, port = site.recorder, site.port
        recorder.wait_payload("crowd/available", "online", timeout=120)
        start = wait_event(recorder, "start", 0, timeout=90, zone="all", level="warning")
        first = min(published_samples(recorder, "crowd/site/all/state"))
        wait_until(lambda: time.time() > max(first, start["started_at"]) + 3 * BUCKET_S, 120, "three buckets")

        browser.set_window_size(1200, 1400)  # the page whole in one screenshot
        browser.get(f"http://127.0.0.1:{port}/history.html?camera=site&zone=all&range=3m")
        loaded = time.time()
        wait_until(lambda: len(chart_points(browser)) >= 3, 30, "the chart's points")
        drawn = chart_points(browser)
        svg = browser.find_element("id", "chart")
        assert svg.get_attribute("data-zone") == "site/all" and svg.get_attribute("data-resolution") == "minute"

        # Every whole bucket published before the page loaded is drawn with the mean published for it.
        by_bucket = published_buckets(recorder, "crowd/site/all/state")
        whole = [t for t in sorted(by_bucket) if t != min(by_bucket) and t + BUCKET_S + 2 < loaded]
        assert len(whole) >= 2
        rows = {t: (n, low, high) for t, n, low, high in stored(
            site.db, "SELECT t, n, count_min, count_max FROM zone_minutes WHERE camera = 'site' AND zone = 'all'")}
        for t in whole:
            assert t in drawn, f"bucket {t} published but not drawn (drawn: {sorted(drawn)})"
            counts, unsure = by_bucket[t]
            mean = sum(counts) / len(counts)
            slack = mean_slack(*rows[t], len(counts), unsure)
            assert drawn[t] == pytest.approx(mean, abs=0.01 + 0.002 * mean + slack), t

        # The warning threshold is a line at 20 and the alert period is shaded.
        lines = browser.find_elements("css selector", "#chart line.threshold-warning")
        assert [float(line.get_attribute("data-value")) for line in lines] == [20.0]
        shaded = browser.find_elements("css selector", "#chart rect.alert-warning")
        assert start["id"] in [rect.get_attribute("data-id") for rect in shaded]
        assert "export.csv" in browser.find_element("id", "csv").get_attribute("href")

        SCREENSHOT.parent.mkdir(exist_ok=True)
        shot = tmp_path / "chart.png"
        assert browser.save_screenshot(str(shot))
        shutil.copyfile(shot, SCREENSHOT)
