"""How often the Hypothesis machines reach each deep state, per 1,000 runs, for every profile.

    python benchmarks/deep_states.py                   # 1,000 runs per profile, seed 0
    python benchmarks/deep_states.py --runs 200 --profile freebsd-src --profile linux

A deep state (listenspec.deepstates.DEEP_STATES) is one that random calls rarely reach by luck:
a completed queue exactly full, an overflow refused, an accept-filter queue evicting, an
overflow logged and a later one suppressed by the rate limit, a re-listen below the queue length.
A run counts once per deep state it reaches. "-" marks a deep state the profile cannot have
(no accept filters: linux, bsd-4.4; no overflow log: all but freebsd-13 and freebsd-src).
Exits 1 if any applicable deep state is reached in fewer than --min-share of the runs (10%).
"""

from __future__ import annotations

import argparse
import sys

from listenspec.deepstates import DEEP_STATES
from listenspec.measure import MachineStats, format_stats, measure
from listenspec.models.profiles import PROFILES


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="runs per profile (default 1000)")
    ap.add_argument("--steps", type=int, default=40, help="steps per run (default 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="append", choices=list(PROFILES))
    ap.add_argument("--min-share", type=float, default=0.10)
    args = ap.parse_args()

    stats: list[MachineStats] = []
    for name in args.profile or list(PROFILES):
        stats.append(measure(name, args.runs, args.steps, args.seed))
        print(f"{name}: {stats[-1].runs} runs in {stats[-1].seconds:.1f} s", file=sys.stderr)
    print(f"Deep states reached, share of runs ({args.runs} runs of {args.steps} steps per "
          f"profile, seed {args.seed})\n")
    print(format_stats(stats))
    print()
    for key, text in DEEP_STATES.items():
        print(f"  {key}: {text}")
    low = [(s.profile, d, s.share(d)) for s in stats for d in s.applicable
           if s.share(d) < args.min_share]
    for profile, d, share in low:
        print(f"BELOW {100 * args.min_share:.0f}%: {profile} {d} {100 * share:.1f}%")
    if not low:
        print(f"\nevery applicable deep state reached in at least {100 * args.min_share:.0f}% "
              "of runs")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
