"""What a `listenspec verify` stage returns: a verdict, the lines to print, figures for --json."""

from __future__ import annotations

from collections.abc import Callable

import attrs


@attrs.frozen
class StageResult:
    name: str
    ok: bool
    lines: tuple[str, ...]  # what to print under the stage's heading
    figures: dict[str, object] = attrs.field(factory=dict)  # for --json and reports


Stage = Callable[[bool], StageResult]  # argument: quick (a smaller budget)
