"""Checks of the built site as a reader meets it, opened from disk (file://):

- `links(site)`: every relative link names a file of the site (a folder would open as a
  directory listing) and every `#anchor` exists on its page (no browser needed);
- `measure(...)`: in headless Chromium (browser.py), at a given window size, what a reader
  would see go wrong: a page wider than the window, a table cell wider than the window, a
  word broken across two lines inside a table or in inline code, a table whose columns are
  out of view without a first column that stays, a picture shown so small that its smallest
  text is under 11 px; plus whether search finds a word, offline;
- `python -m listenspec.docsgen.layout SITE [--shots DIR]` runs them all and takes the
  screenshots listed in SHOTS, printing what it found (exit 1 on a problem).
"""

from __future__ import annotations

import argparse
import html.parser
import re
import sys
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from .browser import Browser, BrowserError

WIDE = 1920  # a desktop window, CSS px: every page is measured at this width
NARROW = 1280  # a laptop window: the pages with the widest tables are measured here too
NARROW_PAGES = ("profiles.html", "divergences.html", "systems/freebsd-src.html",
                "topics/admission.html", "topics/choices.html", "lifecycle.html")
HEIGHT = 1080
MIN_TEXT_PX = 11.0  # the smallest text a picture may show at its rendered size

#: screenshots a reviewer looks at: (page#where, window width[, px the table there is scrolled])
SHOTS: tuple[tuple[str, int] | tuple[str, int, int], ...] = (
         ("profiles.html", 1920), ("profiles.html#comparison", 1920),
         ("profiles.html#comparison", 1280), ("profiles.html#comparison", 1280, 400),
         ("profiles.html#sources", 1920),
         ("lifecycle.html", 1920), ("lifecycle.html#the-listeners-queues", 1920),
         ("systems/freebsd-13.html", 1920), ("systems/freebsd-13.html#the-queues", 1920),
         ("systems/freebsd-13.html#a-connection-to-a-full-queue", 1920),
         ("systems/freebsd-13.html#errors", 1920),
         ("systems/linux.html#a-connection-to-a-full-queue", 1920),
         ("systems/linux.html#a-listeners-life", 1920),
         ("topics/overflow.html#the-exchange-system-by-system", 1920),
         ("topics/admission.html", 1920), ("seeds/000.html", 1920), ("seeds/001.html", 1920),
         ("divergences.html#tcp-full", 1280),
         ("sources/index.html#the-revisions-the-source-links-point-at", 1920))


# --------------------------------------------------------------------------- links


class _Refs(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        a = dict(attrs_)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "a" and a.get("name"):
            self.ids.add(str(a["name"]))
        for key in ("href", "src"):
            v = a.get(key)
            if v and not (tag == "link" and key == "href" and a.get("rel") == "preconnect"):
                self.hrefs.append(v)


def _parse(path: Path) -> _Refs:
    p = _Refs()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def links(site: Path) -> list[str]:
    """What goes wrong following the site's links from disk: a missing file, a folder, an
    anchor its page lacks. External links (http:, https:, mailto:) are not followed."""
    # absolute, as the targets below are: with `site` relative no target was found among the
    # parsed pages, and every link with an anchor parsed its page again (130 s for this site)
    site = site.resolve()
    # 404.html is served for a missing URL by a web server, from the site root: its links are
    # absolute (/...) on purpose and never followed from disk
    pages = {p: _parse(p) for p in site.rglob("*.html") if p.name != "404.html"}
    problems = []
    for page, refs in pages.items():
        for href in refs.hrefs:
            parts = urllib.parse.urlsplit(href)
            if parts.scheme or href.startswith("//") or href.startswith("data:"):
                continue
            target = page if not parts.path else (page.parent / urllib.parse.unquote(
                parts.path)).resolve()
            where = f"{page.relative_to(site)}: {href}"
            if not target.exists():
                problems.append(f"{where}: no such file")
            elif target.is_dir():
                problems.append(f"{where}: a folder (a directory listing from file://)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if urllib.parse.unquote(parts.fragment) not in ids:
                    problems.append(f"{where}: no anchor #{parts.fragment} there")
    return problems


# --------------------------------------------------------------------------- in a browser

MEASURE_JS = r"""
(() => {
  const vw = document.documentElement.clientWidth;
  const article = document.querySelector('article') || document.body;
  const out = {viewport: vw, pageOverflow: document.documentElement.scrollWidth - vw,
               tables: [], wide: [], broken: [], pictures: [], words: 0};
  article.querySelectorAll('table').forEach((t, i) => {
    // the element that scrolls it sideways (if any), and the right edge of what is visible
    let box = null, right = vw;
    for (let e = t; e && e !== article; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (['auto', 'scroll', 'hidden'].includes(s.overflowX)) {
        right = Math.min(right, e.getBoundingClientRect().right);
        if (!box && e.scrollWidth > e.clientWidth + 1) box = e;
      }
    }
    const head = t.querySelector('tr');
    let hidden = 0;
    if (head) for (const c of head.children)
      if (c.getBoundingClientRect().right > right + 1) hidden++;
    // does the first column stay in view when the table is scrolled? (scroll, look, undo)
    let stays = null;
    const first = t.querySelector('tbody tr > :first-child');
    if (box && first) {  // sticky: it may slide to the edge of the scrolled box, not past it
      box.scrollLeft = Math.min(300, box.scrollWidth - box.clientWidth);
      stays = first.getBoundingClientRect().left >= box.getBoundingClientRect().left - 1;
      box.scrollLeft = 0;
    }
    out.tables.push({index: i, cls: (t.closest('.ls-wide') || {}).className || '',
                     cols: head ? head.children.length : 0, scrolls: !!box, sticky: stays,
                     hidden: hidden, width: Math.round(t.getBoundingClientRect().width),
                     box: Math.round(box ? box.clientWidth : t.getBoundingClientRect().width)});
  });
  article.querySelectorAll('td, th').forEach(c => {  // a cell spanning columns may be wider
    if (c.colSpan === 1 && c.getBoundingClientRect().width > vw)
      out.wide.push(c.textContent.trim().slice(0, 60));
  });
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let node;
  while ((node = walker.nextNode())) {
    const el = node.parentElement;
    if (!el || el.closest('pre')) continue;
    const code = !!el.closest('code');
    if (!code && !el.closest('td, th')) continue;
    if (el.offsetParent === null) continue;  // hidden (a closed details block, a tab)
    const text = node.textContent;
    // code never breaks inside a token; text may break at punctuation, never inside a word
    const re = code ? /\S+/g : /\w+/g;
    let m;
    while ((m = re.exec(text))) {
      range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      const tops = Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => r.top);
      out.words++;
      if (tops.length > 1 && Math.max(...tops) - Math.min(...tops) > 2) out.broken.push(m[0]);
    }
  }
  article.querySelectorAll('img').forEach(img => {
    if (!img.naturalWidth || img.offsetParent === null) return;
    out.pictures.push({src: img.getAttribute('src'), natural: img.naturalWidth,
                       shown: img.getBoundingClientRect().width});
  });
  return out;
})()
"""

SEARCH_JS = r"""
new Promise(resolve => {
  const input = document.querySelector('input[data-md-component="search-query"]');
  if (!input) { resolve({error: 'no search box'}); return; }
  document.querySelector('label[for="__search"]')?.click();
  input.focus();
  input.value = %s;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true}));
  let tries = 0;
  const poll = () => {
    const items = document.querySelectorAll('.md-search-result__item');
    const meta = document.querySelector('.md-search-result__meta');
    if (items.length || tries++ > 60) {
      resolve({results: items.length, meta: meta ? meta.textContent.trim() : '',
               first: items.length ? items[0].textContent.trim().slice(0, 80) : ''});
    } else setTimeout(poll, 100);
  };
  poll();
})
"""


@attrs.frozen
class PageLayout:
    page: str
    width: int
    found: dict[str, Any]

    def problems(self, site: Path) -> list[str]:
        f = self.found
        where = f"{self.page} at {self.width} px"
        out = []
        if f["pageOverflow"] > 1:
            out.append(f"{where}: the page is {f['pageOverflow']} px wider than the window")
        out += [f"{where}: a cell wider than the window: {w!r}" for w in f["wide"]]
        if f["broken"]:
            out.append(f"{where}: {len(f['broken'])} words broken across lines, e.g. "
                       f"{', '.join(repr(b) for b in f['broken'][:5])}")
        for t in f["tables"]:
            if t["scrolls"] and not t["sticky"]:
                out.append(f"{where}: table {t['index']} ({t['cols']} columns) scrolls "
                           f"sideways without a first column that stays in view")
        for pic in f["pictures"]:
            px = smallest_text_px(site, self.page, pic["src"], pic["shown"])
            if px is not None and px < MIN_TEXT_PX:
                out.append(f"{where}: {pic['src']} is shown at {pic['shown']:.0f} px: its "
                           f"smallest text is {px:.1f} px (under {MIN_TEXT_PX:.0f})")
        return out


_FONT_RE = re.compile(r"font-size[:=]\s*\"?([0-9.]+)")
_VIEWBOX_RE = re.compile(r'viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+) [0-9.]+"')


def smallest_text_px(site: Path, page: str, src: str, shown: float) -> float | None:
    """The smallest font of an SVG picture in CSS px, as shown `shown` px wide; None for a
    picture that is not an SVG of the site."""
    path = (site / page).parent / urllib.parse.unquote(src)
    if path.suffix != ".svg" or not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    box = _VIEWBOX_RE.search(text)
    sizes = [float(x) for x in _FONT_RE.findall(text)]
    if box is None or not sizes:
        return None
    return min(sizes) * shown / float(box.group(1))


def measure(b: Browser, site: Path, page: str, width: int) -> PageLayout:
    b.open((site / page).resolve().as_uri(), width, HEIGHT)
    return PageLayout(page, width, b.evaluate(MEASURE_JS))


def search(b: Browser, site: Path, query: str) -> dict[str, Any]:
    """Type `query` into the search box of the start page, opened from disk."""
    import json

    b.open((site / "index.html").resolve().as_uri(), 1920, HEIGHT)
    found: dict[str, Any] = b.evaluate(SEARCH_JS % json.dumps(query))
    return found


def pages(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html")
                  if p.name != "404.html")


def plan(site: Path, only: Iterable[str] | None = None) -> list[tuple[str, int]]:
    """(page, width) to measure: every page wide, the widest ones narrow too."""
    chosen = list(only) if only else pages(site)
    return ([(p, WIDE) for p in chosen]
            + [(p, NARROW) for p in chosen if p in NARROW_PAGES])


def check(site: Path, shots: Path | None = None, *, only: Iterable[str] | None = None,
          ) -> tuple[list[str], list[PageLayout], list[Path]]:
    """The links, then every page of the plan in the browser, then search; the problems, the
    measurements and the screenshots taken."""
    site = site.resolve()
    problems = [f"link: {p}" for p in links(site)]
    layouts: list[PageLayout] = []
    taken: list[Path] = []
    with Browser() as b:
        for page, width in plan(site, only):
            lay = measure(b, site, page, width)
            layouts.append(lay)
            problems += lay.problems(site)
        found = search(b, site, "syncache")
        if not found.get("results"):
            problems.append(f"search from file:// found nothing for 'syncache': {found}")
        if shots is not None:
            for where, width, *scroll in SHOTS:
                page, _, frag = where.partition("#")
                if not (site / page).exists():
                    problems.append(f"screenshot: no page {page}")
                    continue
                if frag and f'id="{frag}"' not in (site / page).read_text(encoding="utf-8"):
                    problems.append(f"screenshot: {page} has no section #{frag}")
                    continue
                url = (site / page).resolve().as_uri() + (f"#{frag}" if frag else "")
                b.open(url, width, HEIGHT)
                name = where.replace("/", "-").replace("#", "--").replace(".html", "")
                if scroll:  # sideways, to show the first column staying in view
                    b.evaluate(f"document.querySelector('#{frag} .md-typeset__scrollwrap')"
                               f".scrollLeft = {scroll[0]}")
                    name += f"-scrolled-{scroll[0]}"
                taken.append(b.screenshot(shots / f"{name}-{width}.png"))
            search(b, site, "syncache")
            taken.append(b.screenshot(shots / "search-from-disk-1920.png"))
    return problems, layouts, taken


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m listenspec.docsgen.layout",
                                 description="Check a built site in headless Chromium.")
    ap.add_argument("site", help="the built site (listenspec docs --out DIR)")
    ap.add_argument("--shots", metavar="DIR", help="save the screenshots of SHOTS here")
    ap.add_argument("--page", action="append", help="only this page (repeatable)")
    args = ap.parse_args(argv)
    site = Path(args.site)
    if not (site / "index.html").is_file():
        print(f"{site}: no built site here (listenspec docs --out {site})", file=sys.stderr)
        return 2
    try:
        problems, layouts, taken = check(site, Path(args.shots) if args.shots else None,
                                         only=args.page)
    except BrowserError as e:
        print(f"listenspec.docsgen.layout: {e}", file=sys.stderr)
        return 2
    tables = sum(len(lay.found["tables"]) for lay in layouts)
    words = sum(lay.found["words"] for lay in layouts)
    print(f"{len({lay.page for lay in layouts})} pages at {WIDE} px, "
          f"{sum(lay.width == NARROW for lay in layouts)} also at {NARROW} px: {tables} tables, "
          f"{words} words measured; {len(problems)} problems")
    for p in problems:
        print("  " + p)
    for path in taken:
        print(f"screenshot: {path}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
