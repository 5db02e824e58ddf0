"""The mutation driver's second kill stage (tools/mutation.py --corpus): the model's traces of a
corpus of random scripts, under every profile, must equal those the unmutated model gave.

Not collected by the default test run (the name does not start with test_): the driver writes
the corpus and its traces to a file and names it in LISTENSPEC_MUTATION_CORPUS. The scripts are
conformance's own (listenspec.scriptgen.scripts, drawn derandomized), so for the linux and
gvisor profiles a changed trace is one conformance holds to the kernel and to gVisor (0
mismatches there); for the page profiles the recorded traces pin the model as the examples'
traces do.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import pytest

from listenspec.models.profiles import PROFILES
from listenspec.results import render
from listenspec.runner import run_model
from listenspec.script import parse

ENV = "LISTENSPEC_MUTATION_CORPUS"


@cache
def _corpus() -> dict[str, Any]:
    path = os.environ.get(ENV)
    if not path:
        pytest.skip(f"{ENV} names no corpus (tools/mutation.py --corpus writes one)")
    with open(path, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def traces(texts: list[str], profile: str) -> list[list[str]]:
    """Each script's trace under the profile, one rendered result per step."""
    p = PROFILES[profile]
    return [[render(t.result) for t in run_model(parse(text, "<corpus>"), p)] for text in texts]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_corpus_traces_are_unchanged(profile: str) -> None:
    corpus = _corpus()
    texts: list[str] = corpus["scripts"]
    for i, (text, got) in enumerate(zip(texts, traces(texts, profile), strict=True)):
        want = corpus["traces"][profile][i]
        if got != want:
            at = next(k for k, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
            step = parse(text, "<corpus>").steps[at].text
            pytest.fail(f"corpus script {i}, {profile}: {step} = {got[at]}, was {want[at]}")
