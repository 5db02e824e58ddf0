"""The package's shape: no import cycles (every import counts, also one inside a function or
under TYPE_CHECKING), and the model knows nothing of the trace format (it may read the calls'
declarations, listenspec/calls.py, which is data)."""

from __future__ import annotations

import ast
from pathlib import Path

import listenspec
import listenspec.models
import listenspec.proofs
import listenspec.spec

PARTS = {
    "listenspec": Path(listenspec.__file__).parent,
    "listenspec.models": Path(listenspec.models.__file__).parent,
    "listenspec.spec": Path(listenspec.spec.__file__).parent,
    "listenspec.proofs": Path(listenspec.proofs.__file__).parent,
}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg, root in PARTS.items():
        for path in root.rglob("*.py"):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if pkg == "listenspec" and parts and parts[0] in ("models", "spec", "proofs"):
                continue  # a symlink or leftover; the mapped folder is authoritative
            out[name] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    base = name if is_pkg else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                mod = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            # `from pkg import sub` imports the submodule; `from mod import name`, the module
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known]
            targets = subs if len(subs) == len(node.names) else [mod, *subs]
        else:
            continue
        for t in targets:
            # the deepest known module a dotted name falls in
            while t and t not in known:
                t = t.rsplit(".", 1)[0] if "." in t else ""
            if t and t != name:
                found.add(t)
    return found


def graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {n: _imports(n, p, known) for n, p in mods.items()}


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    # Tarjan's strongly connected components; a component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    cycles = _cycles(graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_walker_finds_a_planted_cycle() -> None:
    g = graph()
    g["listenspec.models.rules"] = {*g["listenspec.models.rules"], "listenspec.models.host"}
    assert any({"listenspec.models.rules", "listenspec.models.host"} <= set(c)
               for c in _cycles(g))


def test_the_model_imports_nothing_of_the_trace_format() -> None:
    g = graph()
    outside = {
        mod: sorted(t for t in deps if not t.startswith("listenspec.models")
                    and t not in ("listenspec", "listenspec.errors", "listenspec.calls"))
        for mod, deps in g.items() if mod.startswith("listenspec.models")
    }
    assert {m: d for m, d in outside.items() if d} == {}
