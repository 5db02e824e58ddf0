from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from listenspec.models.profiles import PROFILES
from listenspec.results import Result, render
from listenspec.runner import run_model
from listenspec.script import parse


def trace(text: str, profile: str) -> list[str]:
    """The rendered results of running `text` under `profile`, one per step."""
    return [render(e.result) for e in run_model(parse(text), PROFILES[profile])]


def fill(n: int, domain: str = "AF_INET", stype: str = "SOCK_STREAM") -> str:
    return "".join(f"c{i} = socket({domain}, {stype})\nconnect(c{i}, s)\n" for i in range(n))


@pytest.fixture(scope="session")
def kernel_run() -> Callable[[Any], list[Result]]:
    """An example's run on this kernel, made once a session: three modules hold other things
    to it (the linux profile, the C executor, the kernel server), and a run takes as long as
    the example's sleeps. The caller has checked that a private namespace can be made."""
    from listenspec.kernel import run_on_kernel

    runs: dict[str, list[Result]] = {}

    def run(example: Any) -> list[Result]:
        if example.name not in runs:
            runs[example.name] = run_on_kernel(example.script)
        return list(runs[example.name])

    return run
