"""Engine benchmark script: runs `crowd-monitor bench` and adds a readable table after the JSON.

    .venv/bin/python bench/bench_engines.py --sizes 640x480,1280x720 --frames 20 --out runs/bench.json

Takes the same options as `crowd-monitor bench` (see --help).  The JSON goes to --out (default
runs/bench-engines.json); the table to stdout.  Run it when the machine is otherwise idle
(`uptime`): the report records the load average at the start and at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.commands import bench as bench_command  # noqa: E402


def table(report: dict) -> str:
    """Markdown tables: engines per size, then batching, ROI windows and the resolution policy."""
    lines = ["| size | engine | median ms | fps | x torch fp32 | CPU ms | x torch (CPU time) | count diff % (mean/max) "
             "| total % | map corr min |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report.get("results", []):
        lines.append(f"| {r['size']} | {r['engine']} | {r['median_ms']} | {r['fps']} | {r.get('speedup_vs_reference')} "
                     f"| {r.get('cpu_ms')} | {r.get('cpu_speedup_vs_reference')} "
                     f"| {r.get('count_diff_pct_mean')}/{r.get('count_diff_pct_max')} | {r.get('total_count_diff_pct')} "
                     f"| {r.get('map_correlation_min')} |")
    for r in report.get("batching", []):
        lines.append(f"\nbatching {r['engine']} {r['size']} batch {r['batch']}: {r['ms_per_frame']} ms/frame, "
                     f"{r['fps']} fps" + (f", x{r['gain_vs_batch_1']}" if "gain_vs_batch_1" in r else ""))
    windows = [r for r in report.get("roi_windows", []) if "window" in r]
    if windows:
        ref = report.get("reference", "torch:fp32")
        lines += ["", f"| ROI window ({windows[0]['engine']}) | window | area | ms | x full frame | x {ref} "
                  f"| x {ref} (CPU time) | count in box vs full frame % | vs {ref} % (mean/total) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in windows:
            lines.append(f"| {r['roi']} | {r['window']} | {r['area_fraction']} | {r['median_ms']} "
                         f"| {r['speedup_vs_full_frame']} | {r[f'speedup_vs_{ref}']} | {r[f'cpu_speedup_vs_{ref}']} "
                         f"| {r['count_in_box_diff_vs_full_frame_pct']} | {r[f'count_in_box_diff_vs_{ref}_pct_mean']}"
                         f"/{r[f'total_count_in_box_diff_vs_{ref}_pct']} |")
    if report.get("resolution"):
        lines += ["", "| dataset | max_side | input | median ms | speed-up | count change % | MAE | bias |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in report["resolution"]:
            lines.append(f"| {r['dataset']} | {r['max_side']} | {r['input']} | {r['median_ms']} | {r['speedup_vs_full']} "
                         f"| {r['count_change_vs_full_pct']} | {r.get('mae')} | {r.get('bias')} |")
    lines.append(f"\nload average start {report['machine']['load_avg_start']}, end {report['machine']['load_avg_end']}; "
                 f"skipped: {report.get('skipped')}")
    return "\n".join(lines)


def main() -> int:
    """Parse the bench options, run it, write the JSON and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench_command.add_arguments(parser)
    parser.set_defaults(out=Path("runs/bench-engines.json"))
    args = parser.parse_args()
    from engines.bench import BenchOptions, run_bench
    from monitor.commands.export import _size

    options = BenchOptions(model=args.model, sizes=[_size(s) for s in args.sizes.split(",")], frames=args.frames,
                           engines=args.engines.split(",") if args.engines else None, threads=args.threads,
                           warmup=args.warmup, data=args.data, calib_frames=args.calib_frames, batch=args.batch,
                           resolution=not args.no_resolution, cache_dir=args.cache_dir)
    report = run_bench(options)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\nJSON report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
