"""Every clause names the code that implements it, and every name resolves: a renamed rule,
parameter or table leaves no clause pointing at nothing."""

from __future__ import annotations

import importlib
import re

import attrs
import pytest

from listenspec.models import tables
from listenspec.models.profiles import Profile
from listenspec.spec import clauses as catalogue

FIELDS = {f.name for f in attrs.fields(Profile)}
CHECKS = re.compile(r"tables\.CHECKS\[(\w+)\]")


def resolves(ref: str) -> bool:
    m = CHECKS.fullmatch(ref)
    if m:
        return m.group(1) in tables.CHECKS
    module, _, name = ref.partition(".")
    if module == "profile":
        return name in FIELDS
    try:
        mod = importlib.import_module(f"listenspec.models.{module}")
    except ImportError:
        return False
    return hasattr(mod, name)


@pytest.mark.parametrize("clause", catalogue.CLAUSES, ids=lambda c: c.id)
def test_every_rule_a_clause_names_exists(clause: catalogue.Clause) -> None:
    assert clause.rules, f"{clause.id} names no implementing code"
    missing = [r for r in clause.rules if not resolves(r)]
    assert not missing, f"{clause.id} names {missing}, which do not exist"


def test_the_resolver_rejects_what_does_not_exist() -> None:
    for bad in ("host._nothing", "profile.no_such_parameter", "tables.CHECKS[fly]",
                "nomodule.x"):
        assert not resolves(bad)
    assert resolves("rules.arrival") and resolves("profile.clamp")
