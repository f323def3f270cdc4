"""Ingestion benchmark: decode cost per frame and per camera, and cameras one core can ingest.

    .venv/bin/python bench/bench_pipeline.py [--seconds 10] [--sample-fps 2] [--out FILE.json]

Encodes short H.264 clips (25 fps, GOP 1 s and 2 s, like IP cameras) at 640x480 and 1280x720
from Mall frames (../shared/data/mall/frames) or generated frames, then measures on one thread:
- per frame: demux only, decode (PyAV, and OpenCV's FFmpeg backend for comparison), BGR conversion;
- per camera: the real ``CameraReader`` over the clip as fast as possible at ``sample_fps``, with
  and without GOP skipping; CPU seconds per second of video = the share of a core one live
  camera takes (RTSP depacketising, ~0.01 ms/packet, not included); cameras/core = 1 / share.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import logging
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config.camera import CameraConfig  # noqa: E402
from monitor.pipeline import LatestFrameSlot  # noqa: E402
from monitor.sources import CameraReader  # noqa: E402

MALL_FRAMES = ROOT.parent / "shared" / "data" / "mall" / "frames"
FPS = 25
SIZES = {"640x480": (640, 480), "1280x720": (1280, 720)}


def source_images(n: int) -> list[np.ndarray]:
    """Mall frames when present (real scenes compress like real cameras), else moving shapes."""
    images = []
    for i in range(n):
        path = MALL_FRAMES / f"seq_{i + 1:06d}.jpg"
        image = cv2.imread(str(path)) if path.exists() else None
        if image is None:
            # a gradient with a moving disc: a uniform frame would be reported blind, not counted
            image = np.repeat(np.linspace(40, 200, 640, dtype=np.uint8)[None, :, None], 480, 0).repeat(3, 2)
            cv2.circle(image, (40 + (i * 7) % 560, 240), 30, (0, 180, 255), -1)
        images.append(image)
    return images


def encode_clip(path: Path, images: list[np.ndarray], size: tuple[int, int], gop: int) -> None:
    """H.264 (libx264 veryfast, no B-frames: like most IP cameras' main profile streams)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "bf": "0", "g": str(gop),
                                                              "keyint_min": str(gop), "sc_threshold": "0"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for image in images:
            frame = av.VideoFrame.from_ndarray(cv2.resize(image, size), format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def per_frame_costs(path: Path, frames: int) -> dict[str, float]:
    """CPU ms per frame on one thread: demux, decode (PyAV, OpenCV), BGR conversion."""
    result = {}
    with av.open(str(path)) as c:
        t0 = time.thread_time()
        n = sum(1 for _ in c.demux(video=0))
        result["demux_ms"] = 1000 * (time.thread_time() - t0) / max(1, n)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.codec_context.thread_count = 1
        n, t0 = 0, time.thread_time()
        for _ in c.decode(stream):
            n += 1
        result["pyav_decode_ms"] = 1000 * (time.thread_time() - t0) / max(1, n)
    with av.open(str(path)) as c:
        c.streams.video[0].codec_context.thread_count = 1
        convert_s, n = 0.0, 0
        for frame in c.decode(video=0):
            t0 = time.thread_time()
            frame.to_ndarray(format="bgr24")
            convert_s += time.thread_time() - t0
            n += 1
        result["bgr_convert_ms"] = 1000 * convert_s / max(1, n)
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    n, t0 = 0, time.thread_time()
    while cap.grab():
        n += 1
    result["opencv_grab_ms"] = 1000 * (time.thread_time() - t0) / max(1, n)
    cap.release()
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    n, t0 = 0, time.thread_time()
    while cap.read()[0]:
        n += 1
    result["opencv_read_ms"] = 1000 * (time.thread_time() - t0) / max(1, n)
    cap.release()
    return {k: round(v, 3) for k, v in result.items()}


def per_camera_cost(path: Path, seconds: float, sample_fps: float, skip_gops: bool) -> dict[str, float]:
    """The real reader over the clip: CPU seconds per video second, frames delivered."""
    slot = LatestFrameSlot(capacity=1000)
    config = CameraConfig(url=str(path), sample_fps=sample_fps, realtime=False)
    reader = CameraReader("bench", config, slot, skip_gops=skip_gops)
    reader.start()
    while reader.alive:
        time.sleep(0.05)
    reader.stop()
    share = reader.cpu_seconds / seconds
    counters = reader.status().counters
    return {"core_share": round(share, 5), "cameras_per_core": round(1.0 / share, 1) if share else None,
            "frames_sampled": counters.frames_sampled, "packets_not_decoded": reader._planner.skipped}


def main() -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    parser.add_argument("--sample-fps", type=float, default=2.0)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the readers log "end of file" at each clip's end
    n = int(args.seconds * FPS)
    images = source_images(n)
    report = {"machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                          "pyav": av.__version__, "opencv": cv2.__version__},
              "clip": {"fps": FPS, "seconds": args.seconds, "codec": "h264 (libx264 veryfast, no B-frames)",
                       "frames": "mall" if (MALL_FRAMES / "seq_000001.jpg").exists() else "generated"},
              "sample_fps": args.sample_fps, "per_frame_ms": {}, "per_camera": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in SIZES.items():
            for gop_s in (1, 2):
                path = Path(tmp) / f"{label}_gop{gop_s}.mp4"
                encode_clip(path, images, size, gop_s * FPS)
                key = f"{label} gop {gop_s}s"
                if gop_s == 1:
                    report["per_frame_ms"][label] = per_frame_costs(path, n)
                report["per_camera"][key] = {
                    "decode_all": per_camera_cost(path, args.seconds, args.sample_fps, skip_gops=False),
                    "skip_gops": per_camera_cost(path, args.seconds, args.sample_fps, skip_gops=True),
                }
                if gop_s == 1:  # at or below one sample per GOP only keyframes need decoding
                    report["per_camera"][key]["skip_gops_at_1fps"] = per_camera_cost(path, args.seconds, 1.0, True)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
