"""SPIN and listenspec's explorer side by side on the same one-listener system.

SPIN explores the call-level anchor model (../shared/anchors/listenq_calls.template.pml, made
for MAXB by gen.sh; `spin -a`, `gcc -O2 -DSAFETY -DBFS`, `./pan -mD`, in a temporary
directory); then the explorer runs the same six moves on the freebsd-src profile
(`explore(alphabet="anchor")`: composite moves made of the model's own calls, every call
checked), with each worker count asked for. Both rates are distinct states stored per second
of wall-clock time, measured in this one run; the ratio is the explorer's against SPIN's.

    python benchmarks/bench_anchor.py                    # MAXB 3, SPIN depth 32, 1 and 2 workers
    python benchmarks/bench_anchor.py --depth 14 --workers 2 --repeat 3

The machine is shared: each figure is the best of --repeat runs. The target of issue 13 is a
ratio of at least 1/30 at 2 workers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from listenspec.explore import explore

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"


def spin(maxb: int, depth: int, anchors: Path) -> tuple[int, float, float]:
    """(states stored, elapsed seconds as pan reports them, CPU seconds of pan)."""
    for tool in ("spin", "gcc", "bash"):
        if shutil.which(tool) is None:
            sys.exit(f"bench_anchor: {tool} is not installed")
    with tempfile.TemporaryDirectory(prefix="listenspec-spin-") as tmp:
        for name in ("gen.sh", "listenq_calls.template.pml"):
            shutil.copy(anchors / name, tmp)
        run = lambda *cmd: subprocess.run(cmd, cwd=tmp, check=True, capture_output=True,  # noqa: E731
                                          text=True, timeout=600)
        run("bash", "gen.sh", str(maxb))
        run("spin", "-a", f"listenq_calls_{maxb}.pml")
        run("gcc", "-O2", "-DSAFETY", "-DBFS", "-o", "pan", "pan.c")
        before = os.times()
        out = run("./pan", f"-m{depth}").stdout
        after = os.times()
    states = re.search(r"(\d+) states, stored", out)
    elapsed = re.search(r"pan: elapsed time ([\d.e+-]+) seconds", out)
    if states is None or elapsed is None:
        sys.exit(f"bench_anchor: cannot read pan's output:\n{out}")
    cpu = (after.children_user + after.children_system
           - before.children_user - before.children_system)
    return int(states.group(1)), float(elapsed.group(1)), cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maxb", type=int, default=3, help="MAXB: re-listen(b) for b in 0..MAXB")
    ap.add_argument("--spin-depth", type=int, default=32, help="pan -m (calls)")
    ap.add_argument("--depth", type=int, default=13, help="the explorer's depth (moves)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=2, help="runs of each (best is reported)")
    ap.add_argument("--anchors", type=Path, default=ANCHORS)
    args = ap.parse_args()

    best_spin = None
    for _ in range(args.repeat):
        got = spin(args.maxb, args.spin_depth, args.anchors)
        if best_spin is None or got[1] < best_spin[1]:
            best_spin = got
    assert best_spin is not None
    s_states, s_secs, s_cpu = best_spin
    s_rate = s_states / s_secs
    print(f"SPIN (call-level anchor, MAXB={args.maxb}, pan -m{args.spin_depth}, best of "
          f"{args.repeat}): {s_states:,} states in {s_secs:.2f} s ({s_cpu:.2f} s CPU): "
          f"{s_rate:,.0f} states/s")
    for n in args.workers:
        best = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = explore("freebsd-src", args.depth, args.maxb, alphabet="anchor", workers=n,
                        progress=False)
            wall = time.perf_counter() - t0
            if best is None or wall < best[1]:
                best = (r, wall)
        assert best is not None
        r, wall = best
        rate = r.distinct_states / wall
        print(f"listenspec explore --alphabet anchor --max-backlog {args.maxb} --depth "
              f"{args.depth} --workers {n}: {r.distinct_states:,} states, "
              f"{r.transitions:,} calls in {wall:.2f} s: {rate:,.0f} states/s; "
              f"ratio to SPIN 1/{s_rate / rate:,.0f} (target 1/30)")
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
