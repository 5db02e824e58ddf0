"""Directives: the places in hand-written pages where generated content goes.

A directive is an HTML comment, `<!-- listenspec:NAME ARGS -->`, usually alone on a line; the build
replaces it with Markdown computed from the catalogue, the profiles and the model. An unknown
directive fails the build (a typo must not leave a silent hole in a page).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path, PurePosixPath

import attrs

from .. import __version__
from . import (
    assurance,
    citations,
    cliref,
    diagram,
    divergences,
    md,
    pictures,
    seeds,
    stackruns,
    systems,
    topics,
    traces,
)

DIRECTIVE_RE = re.compile(
    r"<!--[ \t]*listenspec:([a-z-]+)((?:[ \t]+[^\s>]+)*)[ \t]*-->")


class DirectiveError(ValueError):
    pass


@attrs.define
class Build:
    """What one docs build knows and records while it expands directives."""

    docs_dir: Path
    repo_dir: Path
    clauses: dict[str, str] = attrs.field(factory=dict)  # clause id -> page that lists it
    points: set[str] = attrs.field(factory=set)  # divergence points shown
    systems: set[str] = attrs.field(factory=set)  # profiles with a page
    seeds: set[str] = attrs.field(factory=set)  # seed pages shown


@attrs.frozen
class Where:
    build: Build
    page: str  # the page's path inside docs/, with forward slashes

    @property
    def base(self) -> str:
        """The relative path from this page to the site root (`../` for topics/x.md)."""
        depth = len(PurePosixPath(self.page).parts) - 1
        return "../" * depth


Handler = Callable[[Where, list[str]], str]
HANDLERS: dict[str, Handler] = {}


def directive(name: str) -> Callable[[Handler], Handler]:
    def add(f: Handler) -> Handler:
        HANDLERS[name] = f
        return f
    return add


def expand(markdown: str, where: Where) -> str:
    def one(m: re.Match[str]) -> str:
        name, args = m.group(1), m.group(2).split()
        handler = HANDLERS.get(name)
        if handler is None:
            raise DirectiveError(f"{where.page}: unknown directive listenspec:{name} "
                                 f"(known: {', '.join(sorted(HANDLERS))})")
        try:
            return handler(where, args)
        except DirectiveError:
            raise
        except Exception as e:
            raise DirectiveError(f"{where.page}: listenspec:{name} {' '.join(args)}: "
                                 f"{type(e).__name__}: {e}") from e
    return DIRECTIVE_RE.sub(one, markdown)


def _one_arg(args: list[str]) -> str:
    if len(args) != 1:
        raise DirectiveError(f"expected one argument, got {args}")
    return args[0]


# --------------------------------------------------------------------------- the start page


@directive("quickstart")
def _quickstart(w: Where, args: list[str]) -> str:
    """The quick start, read from README.md so the two cannot disagree."""
    readme = (w.build.repo_dir / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## Quick start\n(.*?)^```\w*\n(.*?)^```", readme, re.S | re.M)
    if m is None:
        raise DirectiveError("README.md has no '## Quick start' section with a code block")
    return md.fence(m.group(2), "sh")


@directive("script")
def _script(w: Where, args: list[str]) -> str:
    """A script from docs/scripts/ with every profile's trace side by side, and the kernel's."""
    from ..models.profiles import PROFILES

    if not args or args[1:] not in ([], ["every-profile"]):
        raise DirectiveError("usage: listenspec:script NAME [every-profile]")
    loaded = traces.load_script(w.build.docs_dir / "scripts" / f"{args[0]}.lsn")
    kernel = traces.kernel_results(loaded)
    parts = [md.fence(loaded.text, "text"),
             traces.side_by_side(loaded, list(PROFILES), kernel=kernel,
                                 group="every-profile" not in args)]
    if kernel.results is not None:
        parts.append(f"The last column is this machine's kernel ({md.text(kernel.environment)}),"
                     f" measured when this page was built. {traces.kernel_verdict(loaded, kernel)}")
    else:
        parts.append(f"This machine's kernel: not available in this build "
                     f"({md.text(kernel.problem)}).")
    return "\n\n".join(parts)


@directive("topics-index")
def _topics_index(w: Where, args: list[str]) -> str:
    from ..spec import clauses as catalogue

    rows = []
    for t in topics.TOPICS.values():
        ids = [c.id for c in catalogue.CLAUSES if c.topic == t.slug]
        rows.append([f"[{md.text(t.title)}]({w.base}{topics.page_of(t.slug)})",
                     str(len(ids)), md.text(", ".join(ids))])
    return md.table(["topic", "clauses", "ids"], rows)


@directive("version")
def _version(w: Where, args: list[str]) -> str:
    return f"listenspec {__version__}"


# --------------------------------------------------------------------------- topic pages


@directive("topic")
def _topic(w: Where, args: list[str]) -> str:
    return topics.render_topic(_one_arg(args), w.build.clauses)


# --------------------------------------------------------------------------- divergences


@directive("divergence-table")
def _divergence_table(w: Where, args: list[str]) -> str:
    return divergences.summary_table(w.build.docs_dir)


@directive("divergence")
def _divergence(w: Where, args: list[str]) -> str:
    return divergences.point_section(w.build.docs_dir, _one_arg(args), w.build.points)


# --------------------------------------------------------------------------- foreign stacks


@directive("stack-run")
def _stack_run(w: Where, args: list[str]) -> str:
    """A committed conformance run (docs/runs/NAME.json): every divergence, shrunk, with the
    profile's and the stack's results side by side."""
    if len(args) != 2:
        raise DirectiveError("usage: listenspec:stack-run NAME STACK-LABEL")
    return stackruns.render_run(w.build.docs_dir, args[0], args[1])


@directive("profile-diff")
def _profile_diff(w: Where, args: list[str]) -> str:
    """The parameters in which a profile differs from another, with each one's source."""
    from ..models.profiles import get
    from ..profile_table import render

    if len(args) != 2:
        raise DirectiveError("usage: listenspec:profile-diff PROFILE BASE")
    p, base = get(args[0]), get(args[1])
    rows = [[md.code(param), md.code(render(param, getattr(p, param), p)),
             md.code(render(param, getattr(base, param), base)), md.text(p.cite[param])]
            for param in p.parameters if getattr(p, param) != getattr(base, param)]
    return md.table(["parameter", md.text(p.name), md.text(base.name), "source"], rows)


@directive("readme-section")
def _readme_section(w: Where, args: list[str]) -> str:
    """A section of a README in the repository, verbatim (so the page and it cannot drift)."""
    if len(args) < 2:
        raise DirectiveError("usage: listenspec:readme-section PATH HEADING-WORDS...")
    text = (w.build.repo_dir / args[0]).read_text(encoding="utf-8")
    heading = "## " + " ".join(args[1:])
    m = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if m is None:
        raise DirectiveError(f"{args[0]} has no section {heading!r}")
    return m.group(1).strip()


# --------------------------------------------------------------------------- the model


def _picture(w: Where, path: str, alt: str, *, needs_dot: bool, what: str) -> str:
    if needs_dot and not diagram.available():
        return md.admonition("note", "Picture not drawn", diagram.missing_note(what))
    return f"![{md.text(alt)}]({w.base}{path}){{ .ls-picture }}"


@directive("lifecycle")
def _lifecycle(w: Where, args: list[str]) -> str:
    from ..models.tables import LIFECYCLE

    rows = [[md.code(a.value), md.code(event), md.code(b.value)]
            for (a, event), b in LIFECYCLE.items()]
    table = md.table(["state", "event", "next state"], rows)
    head = _picture(w, pictures.LIFECYCLE, "The socket life cycle, drawn from models/tables.py "
                    "LIFECYCLE", needs_dot=True, what="The life-cycle diagram")
    title = f"The table it is drawn from ({len(rows)} transitions)"
    if not diagram.available():
        return head + "\n\n" + md.details(title, table, open_=True, kind="abstract")
    return head + "\n\n" + md.details(title, table, kind="abstract")


@directive("queues")
def _queues(w: Where, args: list[str]) -> str:
    """The picture of one profile's queues (queues.py)."""
    name = _one_arg(args)
    from ..models.profiles import get

    get(name)
    return _picture(w, pictures.queue_path(name), f"The listener's queues under {name}",
                    needs_dot=True, what="The picture of the queues")


@directive("max-queue-plot")
def _max_queue_plot(w: Where, args: list[str]) -> str:
    return (_picture(w, pictures.MAX_QUEUE_PLOT, "The longest completed queue against the "
                     "backlog, one line per profile", needs_dot=False, what="") + "\n\n"
            + "Computed by the model's rules (`rules.effective_backlog`, then "
            "`rules.max_completed`) at each profile's default hard limit, when this page was "
            "built; profiles with the same line share it. 4.4BSD's line stops rising at its "
            "hard limit of 5, and counts half-open connections too.")


@directive("overflow-sequences")
def _overflow_sequences(w: Where, args: list[str]) -> str:
    """Every distinct exchange of a connection to a full queue, the systems that make it."""
    parts = []
    for domain in ("AF_INET", "AF_UNIX"):
        for path, names, ex in pictures.group_sequences(domain):
            parts.append(f"![{md.text(', '.join(names))}: a {ex.domain} connection to a full "
                         f"queue]({w.base}{path}){{ .ls-picture }}")
    return ("Computed by the model when this page was built: `rules.overflow_answer` says "
            "which exchange it is, and a script that fills a `listen(s, 1)` queue and connects "
            "once more gives the figures below each picture. Systems with the same exchange "
            "share a picture; each [system's page](../systems/index.md) has its own.\n\n"
            + "\n\n".join(parts))


@directive("guards")
def _guards(w: Where, args: list[str]) -> str:
    from ..models.tables import CHECKS

    parts = []
    for call in CHECKS:
        parts.append(f"### `{call}()`")
        parts.append(topics.guards_table(call))
    return "\n\n".join(parts)


@directive("profiles")
def _profiles(w: Where, args: list[str]) -> str:
    from . import profiles_page

    return profiles_page.render(w.base)


# --------------------------------------------------------------------------- systems, seeds


@directive("system")
def _system(w: Where, args: list[str]) -> str:
    name = _one_arg(args)
    if name not in systems.TITLES:
        raise DirectiveError(f"no system page for {name!r} (profiles: "
                             f"{', '.join(systems.TITLES)})")
    w.build.systems.add(name)
    queue = pictures.queue_path(name) if diagram.available() else None
    return systems.render_page(name, w.base, queue_svg=queue,
                               sequences=pictures.system_sequences(name))


@directive("systems-index")
def _systems_index(w: Where, args: list[str]) -> str:
    return systems.index(w.base)


@directive("seed")
def _seed(w: Where, args: list[str]) -> str:
    seed = seeds.by_num(_one_arg(args))
    w.build.seeds.add(seed.num)
    return seeds.render(seed, w.build.repo_dir, w.base)


@directive("seeds-index")
def _seeds_index(w: Where, args: list[str]) -> str:
    return seeds.index(w.base)


@directive("document")
def _document(w: Where, args: list[str]) -> str:
    """A cited digest (spec/reference/, spec/sources/), its numbered sections anchored."""
    from . import documents

    return documents.render(_one_arg(args), w.build.repo_dir)


@directive("upstreams")
def _upstreams(w: Where, args: list[str]) -> str:
    return citations.upstream_table()


@directive("documents-index")
def _documents_index(w: Where, args: list[str]) -> str:
    from . import documents

    return documents.index(w.base)


@directive("calls")
def _calls(w: Where, args: list[str]) -> str:
    """The call table, from the declarations (listenspec/calls.py)."""
    from ..calls import CALLS, KINDS

    rows = []
    for c in CALLS:
        spelt = "<br>".join(
            md.code(f"{c.name}({', '.join(KINDS[prm.kind].label for prm in form)})")
            for form in c.forms)
        rows.append([spelt, md.text(c.meaning), "yes" if c.new_fd else ""])
    return md.table(["call", "meaning", "returns a descriptor (NAME = …)"], rows)


# --------------------------------------------------------------------------- assurance


@directive("invariants")
def _invariants(w: Where, args: list[str]) -> str:
    from ..models.invariants import INVARIANTS

    pr = assurance.proofs()
    where = {inv: t for t in topics.TOPICS.values() for inv in t.invariants}
    rows = topics.proof_rows(list(INVARIANTS), pr)
    for row, name in zip(rows, INVARIANTS, strict=True):
        t = where.get(name)
        row.append(f"[{md.text(t.title)}]({w.base}{topics.page_of(t.slug)})" if t else "")
    return md.table(["invariant", "what it says", "what the proofs found", "topic"], rows)


@directive("proofs")
def _proofs(w: Where, args: list[str]) -> str:
    pr = assurance.proofs()
    if pr.problem:
        return f"Proofs: {md.text(pr.problem)}."
    names = pr.properties()
    ok = all(r.ok for r in pr.rows)
    head = (f"{len(names)} properties on {len(set(r.profile for r in pr.rows))} profiles, "
            f"{len(pr.rows)} proof runs in {pr.seconds:.1f} s, "
            f"{'from ' + pr.given if pr.given else 'run when this page was built'}: "
            + ("every result as expected." if ok else "**some results are not as expected**."))
    body = [head, md.table(["property", "what it says", "what the proofs found"],
                           topics.proof_rows(names, pr))]
    cex = topics.counterexamples(names, pr)
    if cex:
        body += ["Where a property fails (most of these are expected: they show that a bound "
                 "needs its hypothesis), the proof gives a concrete case:", cex]
    return "\n\n".join(body)


def _stage_block(run: assurance.StageRun) -> str:
    doc = assurance.module_doc(run.module) if run.module else None
    head = (f"`{run.module}`: {md.text(doc.summary)}" if doc and doc.summary
            else f"`{run.module}`" if run.module else "")
    if run.ok is None:
        return f"{head}\n\nResults: {md.text(run.problem)}.".strip()
    verdict = "all passed" if run.ok else "**FAILED**"
    how = (f"From {run.given}" if run.given else "Run when this page was built, as `listenspec "
           f"verify --quick --only {run.name}` would")
    body = f"{head}\n\n{how}: {verdict} in {run.seconds:.1f} s."
    if run.problem:
        body += f" {md.text(run.problem)}."
    if run.lines:
        body += "\n\n" + md.fence("\n".join(run.lines), "text")
    return body


@directive("stages")
def _stages(w: Where, args: list[str]) -> str:
    """Every further stage of `listenspec verify`, run in its quick form at build time, but the
    proofs: the page has their table already (assurance.proofs()), and running their stage as
    well proved everything twice a build."""
    found = [name for name, _fn in assurance.verify_stages() if name != "proofs"]
    if not found:
        return "No further stage is registered with `listenspec verify` in this build."
    return "\n\n".join(f"### `{name}`\n\n" + _stage_block(assurance.stage(name))
                       for name in found)


@directive("module-example")
def _module_example(w: Where, args: list[str]) -> str:
    """The usage example in a module's docstring (so the docs show the code's own example)."""
    doc = assurance.module_doc(_one_arg(args))
    if doc.problem:
        return f"`{doc.module}`: {md.text(doc.problem)}."
    if not doc.example:
        raise DirectiveError(f"{doc.module}'s docstring has no `::` example block")
    return md.fence(doc.example, "python")


# --------------------------------------------------------------------------- the CLI


@directive("cli")
def _cli(w: Where, args: list[str]) -> str:
    return cliref.reference()


@directive("check-demo")
def _check_demo(w: Where, args: list[str]) -> str:
    """A real `listenspec check` failure: one profile's trace checked against another."""
    import tempfile

    from ..cli import main
    from ..models.profiles import PROFILES

    name, wrote, against = args if len(args) == 3 else ("tcp-full", "linux", "freebsd-src")
    loaded = traces.load_script(w.build.docs_dir / "scripts" / f"{name}.lsn")
    res = traces.model_results(loaded, wrote)
    text = "".join(f"{s.text} = {r}\n" for s, r in zip(loaded.script.steps, res, strict=True))
    assert wrote in PROFILES and against in PROFILES
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.trace"
        path.write_text(text, encoding="utf-8")
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["check", str(path), "--profile", against])
    shown = out.getvalue().replace(str(path), f"{name}.trace")
    return (md.fence(text, "text") + "\n\n"
            + md.fence(f"$ listenspec check {name}.trace --profile {against}\n{shown}"
                       f"$ echo $?\n{code}", "console"))
