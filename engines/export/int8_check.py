"""Is an INT8 model safe here? The counts check against the float engine, and what its result is keyed by.

``precision: auto`` on a CPU calibrates INT8 on a site's own frames and keeps it only when its
counts agree with the float engine on *other* frames of the same cameras: the sum of the counts
within 1%, and no single frame far off (``judge``).  The verdict is worth keeping only for the same
weights, input sizes and hardware: quantized kernels differ between AVX2, AVX-512 VNNI and AMX, and
between OpenVINO releases (``hardware_identity``, ``cache_key``).
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

SUM_TOLERANCE_PCT = 1.0  # the bar: INT8 counts within 1% of the float engine's
FRAME_TOLERANCE_HEADS = 1.0  # a frame may differ by this many heads ...
FRAME_TOLERANCE_PCT = 10.0  # ... or by this share of its count, whichever is larger
# Quantized kernels are chosen by these: a verdict from one set does not carry over to another.
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")


@dataclass(frozen=True)
class Verdict:
    """The outcome of the counts check."""

    ok: bool
    reason: str
    frames: int
    float_sum: float
    int8_sum: float
    sum_diff_pct: float  # signed, INT8 against float
    worst_frame_diff: float  # heads, largest absolute difference on one frame

    def as_dict(self) -> dict:
        """Plain data for the decision file and reports."""
        return asdict(self)


def judge(float_counts, int8_counts, tolerance_pct: float = SUM_TOLERANCE_PCT) -> Verdict:
    """Whether INT8 counts may replace the float engine's on the same frames.

    The sum must agree within ``tolerance_pct``; its base is at least one head per frame, so that
    a nearly empty scene (a sum near zero) is not failed on a difference of a tenth of a head.
    Per frame: every count finite, and none off by more than max(1 head, 10%).
    """
    floats, int8s = [float(c) for c in float_counts], [float(c) for c in int8_counts]
    if not floats or len(floats) != len(int8s):
        return Verdict(False, f"no frames to compare ({len(floats)} float, {len(int8s)} INT8 counts)",
                       len(floats), sum(floats), sum(int8s), 0.0, 0.0)
    if not all(math.isfinite(c) for c in floats + int8s):
        return Verdict(False, "a count is not a finite number", len(floats), 0.0, 0.0, 0.0, 0.0)
    float_sum, int8_sum = sum(floats), sum(int8s)
    diff_pct = (int8_sum - float_sum) / max(float_sum, float(len(floats))) * 100.0
    diffs = [abs(b - a) for a, b in zip(floats, int8s)]
    worst = max(range(len(diffs)), key=diffs.__getitem__)
    base = dict(frames=len(floats), float_sum=round(float_sum, 3), int8_sum=round(int8_sum, 3),
                sum_diff_pct=round(diff_pct, 3), worst_frame_diff=round(diffs[worst], 3))
    allowed = max(FRAME_TOLERANCE_HEADS, FRAME_TOLERANCE_PCT / 100.0 * abs(floats[worst]))
    if diffs[worst] > allowed:
        return Verdict(False, f"one frame off by {diffs[worst]:.2f} heads ({floats[worst]:.1f} float, "
                              f"{int8s[worst]:.1f} INT8; allowed {allowed:.2f})", **base)
    if abs(diff_pct) > tolerance_pct:
        return Verdict(False, f"INT8 counts {diff_pct:+.2f}% off the float engine's on {len(floats)} frames "
                              f"(allowed {tolerance_pct:g}%)", **base)
    return Verdict(True, f"INT8 counts within {abs(diff_pct):.2f}% of the float engine's on {len(floats)} frames "
                         f"(allowed {tolerance_pct:g}%)", **base)


def _cpu() -> tuple[str, list[str]]:
    """(CPU model name, the flags of ``CPU_FLAGS`` it has) from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), []
    name, flags = platform.machine(), set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            name = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
            break
    return name, [flag for flag in CPU_FLAGS if flag in flags]


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def hardware_identity() -> dict:
    """What an INT8 verdict depends on besides the model: CPU model and flags, OpenVINO and NNCF versions."""
    name, flags = _cpu()
    return {"cpu": name, "flags": flags, "machine": platform.machine(), "openvino": _version("openvino"),
            "nncf": _version("nncf")}


def cache_key(weights_sha: str, sizes, hardware: dict) -> str:
    """A folder name: weights digest, input sizes (``640x480`` joined by ``+``) and a digest of the hardware."""
    hw = hashlib.sha256(json.dumps(hardware, sort_keys=True).encode()).hexdigest()[:12]
    size_text = "+".join(f"{w}x{h}" for w, h in sorted(set(tuple(s) for s in sizes)))
    return f"csrnet-{weights_sha[:16]}-{size_text}-hw{hw}"


def model_digest(model: str, adapter: str = "auto") -> str:
    """The digest of a weights name or file with ``adapter`` over it, or of an .onnx file (what an INT8
    verdict is keyed by)."""
    from ..runtimes.common import file_digest
    from ..runtimes.registry import model_format
    from ..weights import load_weights, weights_digest

    if model_format(model) == "weights":
        return weights_digest(load_weights(model, adapter))
    return file_digest(model)
