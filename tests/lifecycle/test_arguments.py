"""Arguments several commands share are declared once: --max-side checks the same everywhere."""

from __future__ import annotations

import argparse

import pytest

from monitor.cli import build_parser


def max_side_actions() -> dict[str, argparse.Action]:
    """The --max-side action of every verb that has one."""
    verbs = build_parser()._subparsers._group_actions[0].choices
    return {verb: action for verb, sub in verbs.items() for action in sub._actions
            if "--max-side" in action.option_strings}


def test_every_max_side_is_the_shared_declaration():
    actions = max_side_actions()
    assert {"count", "evaluate", "finetune", "train", "export", "demo"} <= set(actions)
    for verb, action in actions.items():
        several = isinstance(action.default, list)
        assert action.type("64") == ([64] if several else 64), verb
        for bad in ("65", "32", "wide"):
            with pytest.raises(argparse.ArgumentTypeError):
                action.type(bad)


def test_auto_where_it_is_the_default_only():
    for verb, action in max_side_actions().items():
        auto = action.default in ("auto", ["auto"])
        if auto:
            assert action.type("auto") in ("auto", ["auto"]), verb
        else:
            with pytest.raises(argparse.ArgumentTypeError):
                action.type("auto")


def test_a_list_of_sides_puts_auto_first_then_the_largest():
    assert max_side_actions()["evaluate"].type("320,auto,640,320") == ["auto", 640, 320]
