"""Count people in images or video frames, optionally writing a heatmap overlay per frame.

Each PATH is an image or a video; videos are sampled (--every-s, default one frame a second).
Prints ``PATH[#frame]  count`` lines, or with --json one JSON object per line
({"path","frame","count","max_side"}, plus "blind" with the reason for a picture with nothing to
count; frame is null for images).  Frames are counted as the daemon counts them (``engines.counting``);
``-c FILE --camera NAME`` takes that camera's model, max_side, correction and count gain from the
daemon's config.  --heatmap OUT.png writes the overlay (a suffix -<name>[-fN] is added to OUT when
there are several frames).
"""

from __future__ import annotations

import argparse

from ._common import add_model_arguments, open_model

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `count`."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="images or videos")
    parser.add_argument("--heatmap", metavar="OUT.png", help="write the density overlay with the count on it")
    parser.add_argument("--json", action="store_true", help='one JSON line per frame: {"path","frame","count"}')
    parser.add_argument("--every-s", type=_seconds, default=1.0, metavar="S",
                        help="video: count one frame every S seconds of video (default 1; 0: every frame)")
    parser.add_argument("--max-frames", type=_positive, default=None, metavar="N", help="video: stop after N frames")
    add_model_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Count every image / sampled frame and print the counts."""
    import json

    import numpy as np

    from engines.counting import count_images

    from ..pipeline.output import gained
    from ._camera import resolve_model_arguments

    resolve_model_arguments(args)
    if args.heatmap:
        _check_heatmap_target(args.heatmap)  # before any work: a wrong name must not cost a model run
    frames = list(_frames(args))
    engine = open_model(args)
    many = len(frames) > 1
    sides = _sides(engine, frames, args.max_side)
    try:
        for path, index, image in frames:
            counted = count_images(engine, [image], sides.get(path, args.max_side))[0]
            count = counted.count * args.gain  # a camera's count_gain multiplies its map, so its count
            if args.json:
                row = {"path": path, "frame": index, "count": round(count, 3), "max_side": counted.side}
                print(json.dumps({**row, **({"blind": counted.blind} if counted.blind else {})}), flush=True)
            else:
                note = f"\t(blind: {counted.blind})" if counted.blind else ""
                print(f"{path}{'' if index is None else f'#{index}'}\t{count:.1f}{note}", flush=True)
            if args.heatmap:
                density = gained(counted.density, args.gain) if counted.density is not None else \
                    np.zeros((image.shape[0] // 8, image.shape[1] // 8), np.float32)
                _write_heatmap(args.heatmap, image, density, count, path, index, many)
    finally:
        engine.close()
    return 0


def _sides(engine, frames, max_side) -> dict:
    """Under auto, one long side per video (chosen from its frames, as the daemon does per camera)."""
    from engines.counting import video_side

    if max_side != "auto":
        return {}
    videos: dict[str, list] = {}
    for path, index, image in frames:
        if index is not None:
            videos.setdefault(path, []).append(image)
    chosen = {path: video_side(engine, images) for path, images in videos.items()}
    return {path: choice.side for path, choice in chosen.items() if choice is not None}


def _seconds(text: str) -> float:
    """``--every-s``: a finite number of seconds, 0 or more."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a number of seconds") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r}: must be 0 (every frame) or a positive number of seconds")
    return value


def _positive(text: str) -> int:
    """``--max-frames``: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number, 1 or more")
    return value


def _check_heatmap_target(out: str) -> None:
    """``--heatmap`` must name an image file OpenCV can write (by its suffix), not a folder."""
    from pathlib import Path

    import cv2

    from ..errors import UserError

    if Path(out).is_dir():
        raise UserError(f"--heatmap {out}: is a directory; give an image file name such as {out.rstrip('/')}/heat.png")
    if not Path(out).suffix or not cv2.haveImageWriter(out):
        raise UserError(f"--heatmap {out}: not an image file name OpenCV can write; use a .png or .jpg name")


def _frames(args: argparse.Namespace):
    """(path, frame index or None, BGR image) for every image and sampled video frame."""
    from pathlib import Path

    from engines.datasets import read_image
    from engines.errors import file_problem

    from ..errors import UserError

    for name in args.paths:
        path = Path(name)
        if not path.is_file():
            raise UserError(file_problem(name, "image or video"))
        if path.suffix.lower() in IMAGE_SUFFIXES:
            yield name, None, read_image(path)
        else:
            yield from _video_frames(name, args.every_s, args.max_frames)


def _video_frames(name: str, every_s: float, max_frames: int | None):
    """Sampled frames of one video: (name, index, image)."""
    import cv2

    from ..errors import UserError

    capture = cv2.VideoCapture(name)
    if not capture.isOpened():
        raise UserError(f"cannot open {name} as an image or a video")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    step = max(1, int(round(every_s * fps))) if every_s > 0 and fps > 0 else 1
    index = taken = 0
    try:
        while max_frames is None or taken < max_frames:
            ok, image = capture.read()
            if not ok:
                break
            if index % step == 0:
                taken += 1
                yield name, index, image
            index += 1
    finally:
        capture.release()
    if taken == 0:
        raise UserError(f"{name}: no frames could be read")


def _write_heatmap(out: str, image, density, count: float, path: str, index: int | None, many: bool) -> None:
    """The overlay to ``out`` (or ``out`` with a per-frame suffix when several frames are counted)."""
    import sys
    from pathlib import Path

    import cv2

    from ..errors import UserError
    from ..render import heatmap_overlay

    target = Path(out)
    if many:
        suffix = f"-{Path(path).stem}" + ("" if index is None else f"-f{index:06d}")
        target = target.with_name(target.stem + suffix + (target.suffix or ".png"))
    target.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(target), heatmap_overlay(image, density, count)):
        raise UserError(f"cannot write {target} (use a .png or .jpg name)")
    print(f"heatmap written to {target}", file=sys.stderr)
