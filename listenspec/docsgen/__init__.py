"""The docs site: `listenspec docs [--serve] [--out DIR]`, MkDocs + Material, built offline.

Hand-written pages live in docs/; everything they show from the project (tables, traces, the
state diagram, the CLI reference) is generated at build time by this package through the MkDocs
hook in hooks.py (see directives.py for what a page can ask for). The build runs MkDocs in a
child process so a build here is exactly `mkdocs build --strict` in the checkout.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TypeAlias

from ..errors import ListenspecError

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def repo_root() -> Path:
    """The checkout this package runs from (the docs are not part of an installed wheel)."""
    return Path(__file__).resolve().parents[2]


def config_file() -> Path:
    cfg = repo_root() / "mkdocs.yml"
    if not cfg.exists() or not (repo_root() / "docs").is_dir():
        raise ListenspecError("the docs sources (mkdocs.yml, docs/) are not in this "
                              "installation: build from a checkout of listenspec",
                              file=str(cfg))
    return cfg


#: the Python packages a build needs (all in the `docs` extra)
NEEDS = ("mkdocs", "material", "matplotlib")


def _require_mkdocs() -> None:
    missing = [m for m in NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        raise ListenspecError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                              "not installed: pip install -e '.[docs]'", file="mkdocs.yml")


def graphviz_note() -> str | None:
    """What a build without Graphviz leaves out, and what to install; None when it is here."""
    from . import diagram

    if diagram.available():
        return None
    return ("the diagrams (life cycle, queues) are drawn with Graphviz, which is not installed "
            "here: this build shows the tables they are drawn from instead. "
            + diagram.INSTALL_HINT[:1].upper() + diagram.INSTALL_HINT[1:] + ", then rebuild")


def mkdocs_command(out: Path | None, *, serve: bool = False,
                   addr: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "mkdocs", "serve" if serve else "build", "--strict",
           "-f", str(config_file())]
    if serve:
        cmd += ["-a", addr] if addr else []
    else:
        cmd += ["--site-dir", str((out or repo_root() / "site").resolve())]
    return cmd


#: what `--skip` can leave out of a build, and the switch the generators read
SKIP = {"kernel": "LISTENSPEC_DOCS_KERNEL=0", "proofs": "LISTENSPEC_DOCS_PROOFS=0",
        "stages": "LISTENSPEC_DOCS_STAGES=none"}


def build(out: Path | None = None, *, serve: bool = False, addr: str | None = None,
          skip: list[str] | None = None, verified: Path | None = None) -> int:
    """Build the site into `out` (default: site/ in the checkout), or serve it; the exit code.

    skip: leave out this machine's kernel traces, the proofs or the verify stages (the pages
    then say they were not run), for a faster or machine-independent build. verified: a
    verify run's summary (`verify --report FILE.json`) whose proofs and stages the pages show
    instead of running them (CI builds the site right after verify).
    """
    _require_mkdocs()
    if verified is not None:
        from .assurance import read_summary

        read_summary(verified)  # a file that is not one fails here, naming it
    note = graphviz_note()
    if note:
        print(f"listenspec docs: note: {note}", file=sys.stderr)
    cmd = mkdocs_command(out, serve=serve, addr=addr)
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # Material's banner is not about us
    for what in skip or ():
        key, value = SKIP[what].split("=")
        env[key] = value
    if verified is not None:
        from .assurance import VERIFY_ENV

        env[VERIFY_ENV] = str(verified.resolve())
    t0 = time.monotonic()
    code = subprocess.run(cmd, cwd=repo_root(), env=env, check=False).returncode
    if not serve:
        where = (out or repo_root() / "site").resolve()
        verdict = f"built in {time.monotonic() - t0:.1f} s: {where}/index.html" if code == 0 \
            else f"FAILED (mkdocs exit {code})"
        print(f"listenspec docs: {verdict}", file=sys.stderr)
    return code


def _cmd(args: argparse.Namespace) -> int:
    return build(Path(args.out) if args.out else None, serve=args.serve, addr=args.addr,
                 skip=args.skip, verified=Path(args.verify) if args.verify else None)


def _add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--serve", action="store_true",
                   help="serve it on localhost and rebuild on changes (mkdocs serve)")
    p.add_argument("--addr", metavar="HOST:PORT", help="with --serve: where to listen "
                   "(default 127.0.0.1:8000)")
    p.add_argument("--skip", action="append", choices=list(SKIP), metavar="WHAT",
                   help="leave out kernel traces, proofs or verify stages (repeatable; "
                        "one of: kernel, proofs, stages)")
    p.add_argument("--verify", metavar="FILE.json",
                   help="show the proofs and stages of this `listenspec verify --report "
                        "FILE.json` run instead of running them again (the pages name it)")


def register(sub: Sub) -> None:
    """Add `listenspec docs` to the CLI's subcommands."""
    p = sub.add_parser("docs", help="build (or serve) the reference site, offline")
    p.add_argument("--out", metavar="DIR", help="where to build the site (default: site/)")
    _add_options(p)
    p.set_defaults(func=_cmd)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m listenspec.docsgen",
                                 description="Build the listenspec docs site.")
    ap.add_argument("out", nargs="?", help="where to build the site (default: site/)")
    _add_options(ap)
    args = ap.parse_args(argv)
    try:
        return _cmd(args)
    except ListenspecError as e:
        print(str(e), file=sys.stderr)
        return 2
