"""Fuzz every entry point and count what went wrong (issue 14).

    python benchmarks/fuzz.py [--inputs 100000] [--entry NAME ...] [--seed S] [--jobs J]
                              [--findings DIR] [--json]

Entry points (listenspec.fuzz.entries): script, trace (the parsers), check (parser + checker),
run (parser + the model under a profile), cli (the top level's arguments) and cli-COMMAND for
every command (its arguments, and for run/check its standard input or file). Each entry point
runs in a process of its own, so that its peak memory is its own; --jobs runs that many at once
(default 1: the machine is shared). Inputs are drawn by Hypothesis: random bytes, mutated
example scripts and traces, integers of thousands of digits, odd Unicode (line separators,
NULs, ...), megabyte lines, deep parentheses, long scripts; valid random scripts and model
traces for run and check. Printed per entry point: inputs, results, clean errors, crashes,
hangs (an input that took over 5 s of CPU time, or 60 s in all), the slowest input (CPU
seconds), the time, and the peak resident memory. Each crash and hang is written with its
input to DIR/<entry>.jsonl (default ./fuzz-findings). Exit status 1 if anything crashed or hung.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _jsonable(value: Any) -> Any:
    """A drawn input as JSON: bytes as base64, Invocations as their fields."""
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "argv"):
        return {"argv": [a.encode("utf-8", "surrogatepass").decode("latin-1")
                         for a in value.argv],
                "stdin": _jsonable(value.stdin),
                "file": None if value.file is None else _jsonable(value.file)}
    return value


def worker(entry: str, inputs: int, seed: int, findings: Path) -> None:
    """Fuzz one entry point; print its tally, with this process's peak memory, as JSON."""
    from listenspec.fuzz import fuzz

    if sys.platform.startswith("linux"):  # the worker ends with the run that started it
        import signal

        from listenspec.kernel.libc import PR_SET_PDEATHSIG, sys_prctl

        sys_prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    last = [time.monotonic()]

    def progress(tally: Any) -> None:
        if time.monotonic() - last[0] > 30:
            last[0] = time.monotonic()
            print(f"  {entry}: {tally.inputs}/{inputs}, {tally.crashes} crashes, "
                  f"{tally.hangs} hangs", file=sys.stderr, flush=True)

    tally = fuzz(entry, inputs, seed, progress)
    if tally.findings:
        findings.mkdir(parents=True, exist_ok=True)
        with open(findings / f"{entry}.jsonl", "w", encoding="utf-8") as f:
            for found in tally.findings:
                f.write(json.dumps({"kind": found.kind, "what": found.what,
                                    "input": _jsonable(found.input)}) + "\n")
    out = tally.as_dict()
    out["peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


def main() -> None:
    from listenspec.fuzz import HANG_SECONDS, WALL_SECONDS, entries

    names = list(entries())
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=100_000, help="per entry point")
    ap.add_argument("--entry", action="append", choices=names, metavar="NAME",
                    help=f"only this entry point (repeatable): {', '.join(names)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="entry points fuzzed at once")
    ap.add_argument("--findings", default="fuzz-findings", help="where crashes are written")
    ap.add_argument("--json", action="store_true", help="one JSON object per entry point")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.inputs, args.seed, Path(args.findings))
        return
    chosen = args.entry or names
    print(f"{args.inputs} inputs per entry point, seed {args.seed}; a hang is an input that takes "
          f"over {HANG_SECONDS:g} s of CPU time or {WALL_SECONDS:g} s in all", file=sys.stderr)
    header = (f"{'entry':<14} {'inputs':>8} {'results':>8} {'errors':>8} {'crashes':>8} "
              f"{'hangs':>6} {'slowest':>8} {'seconds':>8} {'peak MiB':>9}\n"
              f"{'':<14} {'':>8} {'':>8} {'(clean)':>8} {'':>8} {'':>6} {'(CPU s)':>8} "
              f"{'(wall)':>8} {'(RSS)':>9}")
    if not args.json:
        print(header)
    pending = list(chosen)
    running: list[tuple[str, subprocess.Popen[str]]] = []
    rows: list[dict[str, Any]] = []
    while pending or running:
        while pending and len(running) < max(1, args.jobs):
            name = pending.pop(0)
            cmd = [sys.executable, __file__, "--worker", name, "--inputs", str(args.inputs),
                   "--seed", str(args.seed), "--findings", args.findings]
            running.append((name, subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                                   env={**os.environ, "PYTHONHASHSEED": "0"})))
        name, proc = running.pop(0)
        out, _ = proc.communicate()
        if proc.returncode != 0 or not out.strip():
            row: dict[str, Any] = {"entry": name, "inputs": 0, "ok": 0, "errors": 0,
                                   "crashes": 1, "hangs": 0, "slowest": 0, "seconds": 0,
                                   "peak_mib": 0,
                                   "kinds": {f"the worker itself failed ({proc.returncode})": 1}}
        else:
            row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['entry']:<14} {row['inputs']:8d} {row['ok']:8d} {row['errors']:8d} "
                  f"{row['crashes']:8d} {row['hangs']:6d} {row['slowest']:8.2f} "
                  f"{row['seconds']:8.0f} {row['peak_mib']:9.1f}", flush=True)
            for kind, n in row["kinds"].items():
                print(f"    {n} × {kind}")
    crashes = sum(r["crashes"] for r in rows)
    hangs = sum(r["hangs"] for r in rows)
    if not args.json:
        print(f"total: {sum(r['inputs'] for r in rows)} inputs, {crashes} crashes, {hangs} hangs "
              f"(over {HANG_SECONDS:g} s of CPU or {WALL_SECONDS:g} s in all), slowest input "
              f"{max(r['slowest'] for r in rows):.2f} s of CPU, "
              f"peak memory {max(r['peak_mib'] for r in rows):.1f} MiB (one entry point's "
              f"process)")
        if crashes or hangs:
            print(f"findings, with their inputs: {args.findings}/")
    sys.exit(1 if crashes or hangs else 0)


if __name__ == "__main__":
    main()
