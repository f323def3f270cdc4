"""The console in Debian's headless chromium, on a daemon with a real RTSP camera and a real Mosquitto.

The live view shows frames, zones and states (an unreachable camera's zone reads unknown); a zone
drawn with mouse events and saved appears on MQTT; a bad threshold is shown at its field and nothing
is written; a write without the token is refused with 401 over plain HTTP.  Screenshots of the live
view and the editor go to docs/ (linked from the README).
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from monitor.config import load_config
from tests.support.recorder import Recorder
from tests.support.waiting import wait_until

from .running import ROOT, TOKEN, request, start_site, stop_site

pytestmark = pytest.mark.slow
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = start_site(tmp_path_factory.mktemp("console"))
    yield site
    stop_site(site)


@pytest.fixture(scope="module")
def recorder(site):
    recorder = Recorder(site.broker, ["crowd/#"])
    yield recorder
    recorder.close()


def put_config(site, body: dict, headers: dict) -> tuple[int, dict]:
    code, answer = request(site.url("/api/config"), "PUT", json.dumps(body).encode(),
                           {"Content-Type": "application/json", **headers})
    return code, json.loads(answer)


def test_writes_need_the_token_and_reads_do_not(site):
    before = site.config.read_bytes()
    code, body = request(site.url("/api/config"))
    assert code == 200
    config = json.loads(body)
    assert config["saving"] is True and set(config["cameras"]) == {"hall", "lobby", "attic"}
    edit = {"version": config["version"], "camera": "hall", "zones": {}}  # would delete the hall's zones
    assert put_config(site, edit, {})[0] == 401
    code, answer = put_config(site, edit, {"Authorization": "Bearer wrong-token-of-some-length"})
    assert code == 401 and "token" in answer["error"]
    assert request(site.url("/api/config"), "POST", b"{}", {"Content-Type": "application/json"})[0] == 401
    assert site.config.read_bytes() == before and not site.config.with_name("monitor.yaml.bak").exists()
    series = site.url("/api/series?camera=hall&zone=door")
    assert request(series, "PUT", b"{}")[0] == 401  # the token is checked before any route
    assert request(series, "PUT", b"{}", {"Authorization": f"Bearer {TOKEN}"})[0] == 405  # history is read-only


# What the live view shows, read in one script (the page redraws its rows at every update).
SHOWN = """
const out = {cameras: {}, sites: {}, link: document.getElementById("link").textContent};
for (const card of document.querySelectorAll(".camera")) {
  const img = card.querySelector("img"), svg = card.querySelector("svg");
  out.cameras[card.dataset.camera] = {state: card.dataset.state, width: img.naturalWidth,
    shapes: [...svg.children].map(e => e.getAttribute("class")).filter(c => c !== "label"),
    zones: Object.fromEntries([...card.querySelectorAll("tr[data-zone]")].map(
      r => [r.dataset.zone, {level: r.dataset.level, count: r.querySelector(".count").textContent}]))};
}
for (const r of document.querySelectorAll("#sites tr[data-zone]"))
  out.sites[r.dataset.zone] = {level: r.dataset.level, text: r.textContent};
return out;
"""


def test_live_view_streams_frames_zones_and_states(site, browser):
    with urllib.request.urlopen(site.url("/api/events"), timeout=10) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        lines = [stream.readline() for _ in range(4)]
    assert lines[2] == b"event: live\n" and json.loads(lines[3][len(b"data: "):])["cameras"][0]["name"] == "hall"

    browser.get(site.url("/console"))

    def shown():
        view = browser.execute_script(SHOWN)
        hall, lobby = view["cameras"].get("hall"), view["cameras"].get("lobby")
        counted = hall and hall["width"] and hall["zones"].get("door", {}).get("count", "–") != "–"
        return view if counted and lobby and lobby["state"] == "blind" else None

    view = wait_until(shown, 30, "the hall's picture and count, the lobby blind")
    assert view["link"] == "live"  # updates arrive as server-sent events
    hall, attic = view["cameras"]["hall"], view["cameras"]["attic"]
    assert hall["state"] == "online" and hall["width"] == 320
    assert sorted(shape.split()[0] for shape in hall["shapes"]) == ["ignore", "roi", "zone"]  # drawn over the frame
    assert hall["zones"]["door"]["level"] in ("normal", "warning", "critical")
    assert attic["state"] in ("reconnecting", "offline") and attic["zones"]["all"]["level"] == "unknown"
    assert view["cameras"]["lobby"]["zones"]["floor"] == {"level": "unknown", "count": "–"}
    assert "attic" in view["sites"]["building"]["text"]  # the site zone says whose data is missing
    DOCS.mkdir(exist_ok=True)
    browser.save_screenshot(str(DOCS / "console-live.png"))


def click_at(browser, element, x: float, y: float) -> None:
    """A real mouse click at relative (x, y) of ``element``."""
    from selenium.webdriver.common.action_chains import ActionChains

    rect = element.rect
    ActionChains(browser).move_to_element_with_offset(
        element, int((x - 0.5) * rect["width"]), int((y - 0.5) * rect["height"])).click().perform()


def open_editor(browser, site):
    from selenium.webdriver.common.by import By

    browser.get(site.url("/console#edit/hall"))
    browser.refresh()  # a fresh page, not the previous test's edits (only the hash would change)
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#ed-image[data-loaded='1']"), 30, "the editor's frame")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#ed-zones .zone-box"), 10, "the zone list")
    return browser.find_element(By.ID, "ed-svg")


def saved(browser) -> str:
    """The editor's message once the save has been answered."""
    from selenium.webdriver.common.by import By

    message = lambda: browser.find_element(By.ID, "ed-message").text  # noqa: E731
    wait_until(lambda: not message().startswith("saving"), 30, "the answer to the save")
    return message()


def test_a_zone_drawn_with_the_mouse_is_saved_and_published(site, browser, recorder):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    svg = open_editor(browser, site)
    browser.find_element(By.ID, "ed-new-zone").send_keys("queue")
    browser.find_element(By.ID, "ed-add-zone").click()
    for x, y in [(0.55, 0.4), (0.95, 0.4), (0.95, 0.9), (0.6, 0.9)]:
        click_at(browser, svg, x, y)
    handles = svg.find_elements(By.CSS_SELECTOR, "circle.handle")
    assert len(handles) == 4
    ActionChains(browser).drag_and_drop_by_offset(handles[3], -int(0.05 * svg.rect["width"]), 0).perform()
    click_at(browser, svg, 0.75, 0.95)  # a fifth point, into the nearest (bottom) edge
    ActionChains(browser).double_click(svg.find_elements(By.CSS_SELECTOR, "circle.handle")[3]).perform()
    box = browser.find_element(By.CSS_SELECTOR, '.zone-box[data-path="cameras.hall.zones.queue"]')
    assert box.find_element(By.CLASS_NAME, "n").text == "4 points"
    box.find_element(By.CSS_SELECTOR, "select[name=warning_metric] option[value=count]").click()
    box.find_element(By.CSS_SELECTOR, "input[name=warning]").send_keys("40")
    browser.find_element(By.ID, "ed-token").send_keys(TOKEN)
    asked = time.monotonic()
    browser.find_element(By.ID, "ed-save").click()
    assert "saved and applied" in saved(browser)
    DOCS.mkdir(exist_ok=True)
    browser.save_screenshot(str(DOCS / "console-editor.png"))

    counted = recorder.wait_for(lambda m: m.topic == "crowd/hall/queue/state" and m.at >= asked and m.payload
                                and json.loads(m.payload)["count"] is not None, 30, "the new zone's count on MQTT")
    assert json.loads(counted.payload)["level"] in ("normal", "warning", "critical")
    text = site.config.read_text()
    assert "# by the shop door" in text and "# the ceiling is never counted" in text  # comments kept
    assert "warning: {count: 40}" in text and "queue" not in site.config.with_name("monitor.yaml.bak").read_text()
    queue = load_config(site.config, {"CONSOLE_TOKEN": TOKEN}).cameras["hall"].zones["queue"]
    drawn = [coord for point in queue.polygon for coord in point]
    assert drawn == pytest.approx([0.55, 0.4, 0.95, 0.4, 0.95, 0.9, 0.55, 0.9], abs=0.01)  # the drag moved 0.6 to 0.55
    live = json.loads(request(site.url("/api/live"))[1])
    queue = [z for z in live["cameras"][0]["zones"] if z["zone"] == "queue"][0]
    assert len(queue["polygon"]) == 4 and queue["thresholds"]["warning"] == {"count": 40.0}


def test_a_bad_threshold_is_shown_at_its_field_and_nothing_is_written(site, browser):
    from selenium.webdriver.common.by import By

    open_editor(browser, site)
    before = site.config.read_bytes()
    box = browser.find_element(By.CSS_SELECTOR, '.zone-box[data-path="cameras.hall.zones.door"]')
    box.find_element(By.CSS_SELECTOR, "select[name=critical_metric] option[value=density]").click()
    box.find_element(By.CSS_SELECTOR, "input[name=critical]").send_keys("1.5")  # below the warning's 2.5
    browser.find_element(By.ID, "ed-token").clear()
    browser.find_element(By.ID, "ed-token").send_keys(TOKEN)
    browser.find_element(By.ID, "ed-save").click()
    problem = wait_until(lambda: box.find_elements(By.CSS_SELECTOR, ".problem"), 20, "the problem at the field")[0]
    assert problem.text == "critical (1.5) must be above warning (2.5)"
    assert problem.get_attribute("data-for") == "cameras.hall.zones.door.critical.density"
    field = box.find_element(By.CSS_SELECTOR, "input[name=critical]")
    assert "invalid" in field.get_attribute("class")
    assert "nothing was written" in browser.find_element(By.ID, "ed-message").text
    assert site.config.read_bytes() == before


def test_roi_calibration_points_and_zone_deletion_from_the_editor(site, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    svg = open_editor(browser, site)
    browser.find_element(By.CSS_SELECTOR, "#ed-roi-row input[type=radio]").click()
    handles = svg.find_elements(By.CSS_SELECTOR, "circle.handle")
    assert len(handles) == 4  # the ROI's corners
    ActionChains(browser).context_click(handles[0]).perform()  # right-click deletes a point
    assert len(svg.find_elements(By.CSS_SELECTOR, "circle.handle")) == 3
    browser.find_element(By.CSS_SELECTOR, "#ed-calibration input[type=radio]").click()
    for x, y in [(0.1, 0.95), (0.9, 0.95), (0.7, 0.5), (0.3, 0.5), (0.5, 0.7)]:  # a fifth is not taken
        click_at(browser, svg, x, y)
    assert len(svg.find_elements(By.CSS_SELECTOR, "circle.handle.calib-point")) == 4
    for index, (x, y) in enumerate([(0, 0), (10, 0), (10, 20), (0, 20)]):
        for axis, value in enumerate((x, y)):
            browser.find_element(By.CSS_SELECTOR, f'input[data-path="cameras.hall.calibration.world_points.{index}.'
                                                  f'{axis}"]').send_keys(str(value))
    browser.find_element(By.CSS_SELECTOR, '.zone-box[data-path="cameras.hall.zones.queue"] .delete-zone').click()
    browser.find_element(By.ID, "ed-token").clear()
    browser.find_element(By.ID, "ed-token").send_keys(TOKEN)
    browser.find_element(By.ID, "ed-save").click()
    assert "saved and applied" in saved(browser)
    camera = load_config(site.config, {"CONSOLE_TOKEN": TOKEN}).cameras["hall"]
    assert len(camera.roi) == 3 and camera.calibration.world_points == [[0, 0], [10, 0], [10, 20], [0, 20]]
    image = [coord for point in camera.calibration.image_points for coord in point]
    assert image == pytest.approx([0.1, 0.95, 0.9, 0.95, 0.7, 0.5, 0.3, 0.5], abs=0.01)
    live = json.loads(request(site.url("/api/live"))[1])["cameras"][0]
    assert live["calibration"]["world_points"][2] == [10, 20] and len(live["roi"]) == 3
    assert list(camera.zones) == ["door"] and [z["zone"] for z in live["zones"]] == ["door"]
