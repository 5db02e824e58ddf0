"""Proof versus brute force for the queue bound.

Brute force checks the bound qlimit by qlimit for qlimit in [0, N]: from a queue one short of
max_completed(qlimit) a connection is admitted (and the queue is then at the maximum), from a
full queue it is refused. It calls the same abstract transition the proof uses, on ints, so the
two check the same thing; brute force covers only [0, N] (and, unlike the proof, takes on trust
that admission is monotone in the queue length), while the proof covers every accepted limit,
every backlog and every state at once, in a time that does not depend on N.
"Fill" is the honest brute force for one qlimit: connect until refused, from an empty queue;
it is quadratic in N, so it stops at 10^3.

    python benchmarks/bench_proofs.py [--profile freebsd-src] [--max-exp 6]
"""

from __future__ import annotations

import argparse
import time

from listenspec.models.profiles import PROFILES, Profile
from listenspec.proofs import listener as L
from listenspec.proofs import queue_bound, run_all
from listenspec.proofs.ruleset import REAL


def boundary(p: Profile, n: int) -> float:
    t0 = time.perf_counter()
    cookies, limit = p.default("syncookies"), L.qlimit_range(p)[1]
    for q in range(n + 1):
        m = REAL.max_completed(p, q)
        if m > 0:
            below = L.connect(p, REAL, L.Listener(m - 1, 0, 0, q, limit, cookies))
            assert below.admitted and below.state.qlen == m, q
        full = L.connect(p, REAL, L.Listener(max(m, 0), 0, 0, q, limit, cookies))
        assert not full.admitted, q
    return time.perf_counter() - t0


def fill(p: Profile, n: int) -> float:
    t0 = time.perf_counter()
    cookies, limit = p.default("syncookies"), L.qlimit_range(p)[1]
    for q in range(n + 1):
        s = L.Listener(0, 0, 0, q, limit, cookies)
        while True:
            step = L.connect(p, REAL, s)
            if not step.admitted:
                break
            s = step.state
            assert s.qlen <= REAL.max_completed(p, q), q
        assert s.qlen == max(REAL.max_completed(p, q), 0), q
    return time.perf_counter() - t0


def proof(p: Profile) -> tuple[float, str]:
    t0 = time.perf_counter()
    v = queue_bound.check_states(p, REAL)
    w = queue_bound.check_step(p, REAL)
    assert v.status == w.status == "proved", (v, w)
    return time.perf_counter() - t0, v.status


#: seconds for every property x profile cell (the issue-3 target)
ALL_PROOFS_TARGET = 10.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="freebsd-src", choices=list(PROFILES))
    ap.add_argument("--max-exp", type=int, default=6, help="largest N is 10^max-exp")
    args = ap.parse_args()
    p = PROFILES[args.profile]
    top = L.qlimit_range(p)[1]
    print(f"queue bound, profile {p.name}: qlimits checked by brute force vs the Z3 proof "
          f"(every qlimit up to {top}, every backlog, every reachable state)\n")
    print(f"{'N':>9}  {'boundary s':>10}  {'qlimit/s':>10}  {'fill s':>8}  {'proof s':>7}  "
          f"{'proof covers':>12}")
    rate = 0.0
    for e in range(2, args.max_exp + 1):
        n = 10**e
        b = boundary(p, n)
        f = f"{fill(p, n):8.2f}" if e <= 3 else f"{'-':>8}"
        pt, _ = proof(p)
        rate = n / b
        print(f"{n:>9}  {b:>10.3f}  {rate:>10.0f}  {f}  {pt:>7.2f}  {'all':>12}")
    hours = top / rate / 3600
    print(f"\nbrute force over every accepted qlimit [0, {top}] at that rate: about {hours:.1f} h "
          "(and that for the empty-syncache, no-re-listen states only); the proof: the "
          "column above.")
    t0 = time.perf_counter()
    cells = run_all()
    wall = time.perf_counter() - t0
    proving = sum(r.seconds for r in cells)
    print(f"\nall proofs (listenspec prove): {len(cells)} cells in {wall:.2f} s "
          f"({proving:.2f} s proving); target < {ALL_PROOFS_TARGET:g} s: "
          f"{'met' if proving < ALL_PROOFS_TARGET else 'MISSED'}")


if __name__ == "__main__":
    main()
