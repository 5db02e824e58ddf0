"""The MkDocs hook (mkdocs.yml `hooks:`) that makes the site generated, not copied.

- on_files adds the generated files: every picture (pictures.py: Graphviz, matplotlib, the
  sequence pictures), every example script and the seed pages' texts;
- on_page_markdown expands the `<!-- listenspec:... -->` directives of each hand-written page;
- on_page_content keeps every word of inline code whole (md.keep_words);
- on_env, once every page is rendered, fails the build if a clause of the catalogue or a
  divergence point appears on no page.

Nothing is written into docs/: generated files live only in the build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from listenspec.docsgen import assurance as _assurance
from listenspec.docsgen import coverage, diagram, directives, md, pictures, systems, traces

_build: directives.Build | None = None


def on_config(config: Any) -> Any:
    global _build
    docs_dir = Path(config["docs_dir"])
    _build = directives.Build(docs_dir=docs_dir, repo_dir=Path(config["config_file_path"]).parent)
    # a fresh build (e.g. a rebuild under `listenspec docs --serve`) recomputes everything
    for f in (traces._model, traces._kernel, _assurance.proofs, _assurance.stage,
              _assurance._verified, _assurance.module_doc, systems._ran, systems._seed_anchors):
        f.cache_clear()
    return config


def on_files(files: Files, config: Any) -> Files:
    from listenspec.spec.examples import all_examples

    for pic in pictures.all_pictures():
        if pic.needs_dot and not diagram.available():
            continue  # the pages say the picture was not drawn, and what to install
        try:
            content = pic.draw()
        except diagram.DiagramError as e:
            raise PluginError(str(e)) from None
        files.append(File.generated(config, pic.path, content=content))
    from listenspec.models import sources

    repo = Path(config["config_file_path"]).parent
    for seed in sources.SEEDS:
        files.append(File.generated(config, seed, content=(repo / "spec" / seed)
                                    .read_text(encoding="utf-8")))
    for ex in all_examples():
        files.append(File.generated(config, f"examples/{ex.name}.lsn",
                                    content=ex.path.read_text(encoding="utf-8")))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    assert _build is not None
    where = directives.Where(_build, page.file.src_uri)
    try:
        return directives.expand(markdown, where)
    except directives.DirectiveError as e:
        raise PluginError(str(e)) from None


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    return md.keep_words(html)


def on_env(env: Any, config: Any, files: Files) -> Any:
    assert _build is not None
    problems = coverage.problems(_build)
    if problems:
        raise PluginError("the docs do not cover the model:\n  " + "\n  ".join(problems))
    return env
