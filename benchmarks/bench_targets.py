"""Targets' speed: scripts per second on each stack this machine can run.

    python benchmarks/bench_targets.py [--rounds N] [--short N]

Two workloads, each run on every target available here:
- the example scripts the linux profile applies to (spec/examples), minus those that sleep
  (their time is the sleep's), `--rounds` times over;
- `--short` copies of a short connect/accept script (the shape of a conformance run).
Targets: `linux` (the Python kernel executor, a forked child kept from script to script),
`exec:python -m listenspec.kernel.serve` (the same executor through the protocol), `gvisor`
(the same executor inside one `runsc --network=none do` sandbox, where runsc can run here), the
C executor and the lwIP harness (built here into a temporary directory, when cc and lwIP are
present). Each figure is wall-clock time after the executor has started (its handshake is read
first, for the description); `gvisor` prints its start-up (sandbox, executor, probes) apart.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listenspec.results import Unsupported
from listenspec.script import Script, parse
from listenspec.spec.examples import all_examples
from listenspec.targets import Target, target
from listenspec.targets.gvisor import gvisor_problem
from listenspec.targets.protocol import ProtocolTarget

ROOT = Path(__file__).resolve().parents[1]


def build(workdir: Path) -> dict[str, list[str]]:
    """argv of each C executor that builds here."""
    cc = shutil.which("cc") or shutil.which("gcc")
    out: dict[str, list[str]] = {}
    if cc is None:
        print("no C compiler: the C executor and the lwIP harness are not measured")
        return out
    exe = workdir / "listenspec-exec"
    if subprocess.run([cc, "-O2", "-o", str(exe), str(ROOT / "executors/c/listenspec-exec.c")],
                      capture_output=True).returncode == 0:
        out["exec:C executor"] = [str(exe)]
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "lwip"], capture_output=True,
                           text=True) if shutil.which("pkg-config") else None
    if flags is not None and flags.returncode == 0:
        lwip = workdir / "lwip-exec"
        done = subprocess.run([cc, "-O2", "-o", str(lwip),
                               str(ROOT / "executors/lwip/lwip-exec.c"), *flags.stdout.split(),
                               "-lpthread"], capture_output=True)
        if done.returncode == 0:
            out["exec:lwIP harness"] = [str(lwip)]
    else:
        print("lwIP not found (pkg-config lwip): the lwIP harness is not measured")
    return out


def short_script() -> Script:
    return parse(
        "s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nlisten(s, 1)\n"
        "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\na = accept(s)\nclose(a)\nclose(c)\n",
        "<short>",
    )


def measure(stack: Target, scripts: list[Script]) -> tuple[float, int, int]:
    """(seconds, steps, unsupported steps) for running every script once, in order."""
    steps = unsupported = 0
    started = time.perf_counter()
    for script in scripts:
        results = stack.run(script)
        steps += len(results)
        unsupported += sum(isinstance(r, Unsupported) for r in results)
    return time.perf_counter() - started, steps, unsupported


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="passes over the examples")
    ap.add_argument("--short", type=int, default=300, help="short scripts per target")
    args = ap.parse_args()

    examples = [ex.script for ex in all_examples()
                if "linux" in ex.profiles and not any(s.call.name == "sleep"
                                                      for s in ex.script.steps)]
    workloads = {
        f"examples ({len(examples)} scripts x {args.rounds})": examples * args.rounds,
        f"short connect/accept ({args.short} scripts)": [short_script()] * args.short,
    }
    with tempfile.TemporaryDirectory(prefix="bench-targets-") as tmp:
        targets: dict[str, Target] = {
            "linux": target("linux"),
            "exec:python -m listenspec.kernel.serve":
                ProtocolTarget([sys.executable, "-m", "listenspec.kernel.serve"]),
        }
        problem = gvisor_problem()
        if problem is None:
            targets["gvisor"] = target("gvisor")
        else:
            print(f"gvisor is not measured: {problem}")
        targets.update({name: ProtocolTarget(argv) for name, argv in build(Path(tmp)).items()})
        for name, stack in targets.items():
            with stack:
                started = time.perf_counter()
                described = stack.describe()  # starts the executor (a sandbox: boots it)
                start_up = time.perf_counter() - started
                print(f"\n{name}: {described}")
                if name == "gvisor":
                    print(f"  {'start-up (sandbox, executor, probes)':44s} {start_up:8.2f} s")
                for label, scripts in workloads.items():
                    seconds, steps, unsupported = measure(stack, scripts)
                    note = f", {unsupported} unsupported" if unsupported else ""
                    print(f"  {label:44s} {len(scripts) / seconds:8.1f} scripts/s "
                          f"{steps / seconds:9.0f} steps/s ({seconds:.2f} s{note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
