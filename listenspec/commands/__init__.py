"""The subcommands beyond run/check/profiles (cli.py), one module each: its argparse wiring and
what it prints. The tools themselves (explore.py, machines.py, conform.py, proofs/) know
nothing of the command line."""

from __future__ import annotations

from collections.abc import Callable

from .types import Sub


def _registrars() -> list[Callable[[Sub], None]]:
    from ..docsgen import register as docs
    from . import clauses, compare, conform, explore, machines, prove, verify

    return [compare.register, clauses.register, verify.register, prove.register,
            explore.register, machines.register, conform.register, docs]


def register_all(sub: Sub) -> None:
    for register in _registrars():
        register(sub)
