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
        several = action.metavar.endswith("[,...]")  # what --help shows; count/evaluate default to None
        assert action.type("64") == ([64] if several else 64), verb
        for bad in ("65", "32", "wide"):
            with pytest.raises(argparse.ArgumentTypeError):
                action.type(bad)


def test_auto_where_it_is_the_default_only():
    for verb, action in max_side_actions().items():
        auto = action.metavar.startswith("auto|")
        assert action.default in (("auto", ["auto"], None) if auto else (action.default,)), verb
        if auto:
            assert action.type("auto") in ("auto", ["auto"]), verb
        else:
            with pytest.raises(argparse.ArgumentTypeError):
                action.type("auto")


def test_unset_model_flags_come_from_the_camera_or_the_defaults():
    from monitor.commands._camera import resolve_model_arguments

    args = build_parser().parse_args(["evaluate", "frames/"])
    assert args.max_side is None and args.gain is None  # unset: told apart from what is typed
    resolve_model_arguments(args, several_sides=True)
    assert (args.max_side, args.gain, args.model, args.correction, args.adapter) == (["auto"], 1.0, "csrnet-0.2",
                                                                                  "off", "auto")
    args = build_parser().parse_args(["count", "a.jpg", "--max-side", "448", "--gain", "1.5"])
    resolve_model_arguments(args)
    assert (args.max_side, args.gain, args.backend) == (448, 1.5, "auto")


def test_a_list_of_sides_puts_auto_first_then_the_largest():
    assert max_side_actions()["evaluate"].type("320,auto,640,320") == ["auto", 640, 320]
