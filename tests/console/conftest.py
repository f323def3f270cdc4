"""The console's browser fixture: Debian's headless chromium through chromedriver and Selenium."""

from __future__ import annotations

import pytest

from .running import browser_missing, start_browser


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per test module (starting one takes seconds); skips with a reason when
    chromium, chromium-driver or selenium is missing."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    driver = start_browser()
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
