from __future__ import annotations

from listenspec.models.profiles import PROFILES
from listenspec.results import render
from listenspec.runner import run_model
from listenspec.script import parse


def trace(text: str, profile: str) -> list[str]:
    """The rendered results of running `text` under `profile`, one per step."""
    return [render(e.result) for e in run_model(parse(text), PROFILES[profile])]


def fill(n: int, domain: str = "AF_INET", stype: str = "SOCK_STREAM") -> str:
    return "".join(f"c{i} = socket({domain}, {stype})\nconnect(c{i}, s)\n" for i in range(n))
