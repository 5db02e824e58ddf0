"""The catalogue's test data: every example script under every profile it applies to must give
its expected trace, and every clause must be covered for every profile it applies to."""

from __future__ import annotations

import pytest

from listenspec.models.profiles import PROFILES
from listenspec.spec.clauses import CLAUSES
from listenspec.spec.examples import all_examples, render_trace
from listenspec.verify import clause_matrix, run_example

EXAMPLES = all_examples()
CASES = [(ex, p) for ex in EXAMPLES for p in ex.profiles]


@pytest.mark.parametrize(("example", "profile"), CASES,
                         ids=[f"{ex.name}-{p}" for ex, p in CASES])
def test_example_gives_its_expected_trace_exactly(example: object, profile: str) -> None:
    result = run_example(example, profile)  # type: ignore[arg-type]
    assert result.ok, result.detail
    # and byte for byte: a hand-edited trace could still "match" only through a placeholder
    path = example.trace_path(profile)  # type: ignore[attr-defined]
    assert path.read_text(encoding="utf-8") == render_trace(example, profile)  # type: ignore[arg-type]


def test_every_clause_is_covered_for_every_profile_it_applies_to() -> None:
    matrix = clause_matrix([run_example(ex, p) for ex, p in CASES])
    uncovered = [(cid, p) for cid, row in matrix.items() for p, v in row.items()
                 if v in ("uncovered", "FAIL")]
    assert uncovered == []


def test_a_clause_without_examples_is_reported_uncovered(monkeypatch: pytest.MonkeyPatch) -> None:
    from listenspec import verify
    from listenspec.spec.clauses import Clause

    lonely = Clause("LONELY", (), "nothing covers this", ("linux",), (), "choices")
    monkeypatch.setattr(verify, "CLAUSES", (*CLAUSES, lonely))
    matrix = verify.clause_matrix([run_example(ex, p) for ex, p in CASES])
    assert matrix["LONELY"]["linux"] == "uncovered"
    assert matrix["LONELY"]["freebsd-src"] == "n/a"


def test_examples_name_only_known_clauses_and_profiles() -> None:
    ids = {c.id for c in CLAUSES}
    for ex in EXAMPLES:
        assert set(ex.clauses) <= ids
        assert set(ex.profiles) <= set(PROFILES)


def test_clause_ids_are_unique_and_cite_seed_files() -> None:
    from listenspec.models.sources import SEEDS

    assert len({c.id for c in CLAUSES}) == len(CLAUSES)
    for c in CLAUSES:
        assert set(c.seeds) <= set(SEEDS)
        assert c.seeds or c.id.startswith(("CHOICE-", "SRC-"))
        assert set(c.profiles) <= set(PROFILES)


def test_every_seed_file_exists_beside_the_checkout() -> None:
    from pathlib import Path

    from listenspec.models.sources import SEEDS

    shared = Path(__file__).resolve().parents[2] / "shared"
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    for seed in SEEDS:
        assert (shared / seed).is_file(), seed
