"""The progress bar draws only on a terminal and ends its line."""

from __future__ import annotations

import io

from monitor.progress import ProgressBar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_draws_on_a_terminal_and_ends_the_line():
    stream = _Tty()
    bar = ProgressBar(4, "evaluate", stream=stream)
    for done in range(1, 5):
        bar.update(done, f"img{done}")
    bar.close()
    text = stream.getvalue()
    assert "\r" in text and "4/4" in text and "img4" in text and text.endswith("\n")
    assert "#" * 30 in text  # full bar at the end


def test_bar_is_silent_when_not_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(3, "evaluate", stream=stream)
    bar.update(1)
    bar.update(3)
    bar.close()
    assert stream.getvalue() == ""
