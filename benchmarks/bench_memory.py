"""Time and peak memory of `listenspec run` as scripts grow (issue 14: linear in the script).

    python benchmarks/bench_memory.py [--profile P] [--sizes N,N,...] [--open K] [--check]

Each size runs in a fresh child process (so its peak resident set is its own), through the CLI's
own `main(["run", FILE, "--profile", P])` with stdout to /dev/null: the path a user takes. The
script first opens K sockets that stay open to the end (default: a tenth of the steps, at most
10,000), then a listener, then repeats a connect/accept/close/netstat/listen round until it has
N steps, so every step runs with K sockets open. Printed per size: seconds, microseconds per
step, peak RSS (ru_maxrss) and its growth over an empty run. Linear growth means a constant
µs/step and a constant KiB/step. --check exits 1 if the largest size's µs/step is more than
2.5 times the smallest's (a quadratic run doubles it with every doubling of the size).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROUND = [
    "c1 = socket(AF_INET, SOCK_STREAM)", "connect(c1, s)",
    "c2 = socket(AF_INET, SOCK_STREAM)", "connect(c2, s)",
    "netstat(s)", "a = accept(s)", "close(a)", "b = accept(s)", "close(b)",
    "close(c1)", "close(c2)", "listen(s, 4)", "getsockopt(s, SO_LISTENQLEN)",
    "x = socket(AF_UNIX, SOCK_STREAM)", "connect(x, u)", "y = accept(u)", "close(y)",
    "close(x)", "syslog()", "counter(\"ListenOverflows\")",
]


def make_script(steps: int, keep_open: int) -> str:
    lines = [f"k{i} = socket(AF_INET, SOCK_STREAM)" for i in range(keep_open)]
    lines += ["s = socket(AF_INET, SOCK_STREAM)", "listen(s, 4)",
              "u = socket(AF_UNIX, SOCK_STREAM)", "bind(u)", "listen(u, 4)"]
    while len(lines) < steps:
        lines.extend(ROUND)
    return "\n".join(lines[:steps]) + "\n"


def child(path: str, profile: str) -> None:
    """Run one script through the CLI; print seconds and peak RSS in KiB."""
    from listenspec.cli import main

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull
        t0 = time.perf_counter()
        code = main(["run", path, "--profile", profile])
        seconds = time.perf_counter() - t0
        sys.stdout = sys.__stdout__
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(code, f"{seconds:.3f}", base, peak)


def measure(steps: int, keep_open: int, profile: str, limit_mb: int) -> tuple[float, int, int]:
    with tempfile.NamedTemporaryFile("w", suffix=".lsn", delete=False) as f:
        f.write(make_script(steps, keep_open))
    try:
        def cap() -> None:  # a runaway run must not take the machine with it
            resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))

        proc = subprocess.run([sys.executable, __file__, "--child", f.name, profile],
                              capture_output=True, text=True, preexec_fn=cap, timeout=3600)
    finally:
        os.unlink(f.name)
    if proc.returncode != 0 or not proc.stdout.strip():
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise SystemExit(f"{steps} steps: the run failed ({last})")
    code, seconds, base, peak = proc.stdout.split()
    if code != "0":
        raise SystemExit(f"{steps} steps: listenspec run exited {code}")
    return float(seconds), int(base), int(peak)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="linux")
    ap.add_argument("--sizes", default="12500,25000,50000,100000",
                    help="script lengths in steps (default 12500,25000,50000,100000)")
    ap.add_argument("--open", type=int, default=None,
                    help="sockets kept open (default: a tenth of the steps, at most 10,000)")
    ap.add_argument("--limit-mb", type=int, default=4096,
                    help="address-space limit of each run (default 4096 MiB)")
    ap.add_argument("--check", action="store_true", help="exit 1 unless the growth is linear")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = [int(n) for n in args.sizes.split(",")]
    print(f"listenspec run --profile {args.profile}; each size in a fresh process")
    print(f"{'steps':>8} {'open':>6} {'seconds':>8} {'µs/step':>8} {'peak MiB':>9} "
          f"{'+MiB':>7} {'KiB/step':>9}")
    per_step = []
    for steps in sizes:
        keep_open = args.open if args.open is not None else min(steps // 10, 10_000)
        seconds, base, peak = measure(steps, keep_open, args.profile, args.limit_mb)
        grown = peak - base
        per_step.append(seconds / steps * 1e6)
        print(f"{steps:8d} {keep_open:6d} {seconds:8.2f} {per_step[-1]:8.1f} {peak / 1024:9.1f} "
              f"{grown / 1024:7.1f} {grown / steps:9.3f}")
    ratio = per_step[-1] / per_step[0]
    print(f"µs/step, largest over smallest size: {ratio:.2f} (1 = linear time; a quadratic run "
          f"gives {sizes[-1] / sizes[0]:.0f})")
    if args.check and ratio > 2.5:
        sys.exit(1)


if __name__ == "__main__":
    main()
