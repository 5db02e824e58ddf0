"""argparse pieces the subcommands share: options that may be given once, and the pointer from
`run`/`check`'s single profile to `compare`, which shows several."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

COMPARE_HINT = ("to see several profiles side by side, use "
                "`listenspec compare SCRIPT --profiles a,b` (or --profiles all)")


class Once(argparse.Action):
    """Store an option's value, and refuse the option given a second time (argparse would keep
    the last one silently)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        if getattr(namespace, self.dest, None) is not None:
            hint = f"; {COMPARE_HINT}" if self.dest == "profile" else ""
            parser.error(f"{option_string} given more than once{hint}")
        setattr(namespace, self.dest, values)


def one_profile(name: str) -> str:
    """argparse `type` of a single --profile: `all` is pointed to `compare`."""
    if name == "all":
        raise argparse.ArgumentTypeError(f"takes one profile; {COMPARE_HINT}")
    return name
