"""Every example script kept for the linux profile, run on this machine's kernel: its trace
must be one the linux profile allows (issue: the kernel adapter and differential conformance)."""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path

import pytest

from listenspec.checker import check
from listenspec.models.profiles import PROFILES
from listenspec.results import Result, render
from listenspec.script import parse
from listenspec.spec.examples import all_examples

if platform.system() != "Linux":  # pragma: no cover
    pytest.skip("the kernel executor needs Linux", allow_module_level=True)

from listenspec.kernel.netns import isolation_problem

PROBLEM = isolation_problem()
LINUX_EXAMPLES = [ex for ex in all_examples() if "linux" in ex.profiles]


@pytest.mark.skipif(PROBLEM is not None, reason=f"no private network namespace: {PROBLEM}")
@pytest.mark.parametrize("example", LINUX_EXAMPLES, ids=[ex.name for ex in LINUX_EXAMPLES])
def test_example_on_the_kernel_is_allowed_by_the_linux_profile(
        example: object, kernel_run: Callable[[object], list[Result]]) -> None:
    script = example.script  # type: ignore[attr-defined]
    results = kernel_run(example)
    text = "".join(f"{s.text} = {render(r)}\n"
                   for s, r in zip(script.steps, results, strict=True))
    verdicts = check(parse(text, f"{example.name}.kernel.trace", trace=True),  # type: ignore[attr-defined]
                     PROFILES["linux"])
    bad = [v for v in verdicts if not v.ok]
    assert not bad, (f"line {bad[0].step.line}: kernel `{render(bad[0].actual)}`, linux "
                     f"profile `{render(bad[0].expected)}`\n{text}")


@pytest.mark.skipif(PROBLEM is not None, reason=f"no private network namespace: {PROBLEM}")
def test_cli_run_kernel_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The commands a user types: `run --kernel` writes a trace that `check` accepts."""
    from listenspec.cli import main

    example = next(ex for ex in LINUX_EXAMPLES if ex.name == "admission_tcp")
    assert main(["run", str(example.path), "--kernel"]) == 0
    out, err = capsys.readouterr()
    assert "private network namespace" in err
    trace = tmp_path / "admission_tcp.kernel.trace"
    trace.write_text(out)
    assert main(["check", str(trace), "--profile", "linux"]) == 0
    assert main(["check", str(trace), "--profile", "freebsd-src"]) == 1  # resets, not drops
