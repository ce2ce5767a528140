"""Sphinx configuration of the book as a website (MyST-NB + sphinx-book-theme), built offline.

Build it with `python site/build.py` (quick mode) or `python site/build.py --full` (see the README). The
sources are the repository itself (this folder holds only the configuration): the README is the landing page,
the notebooks are executed at build time by MyST-NB through a jupyter-cache, so an unchanged notebook is not
run again. Every file a page loads is served from the site: MathJax comes from the `sphinx-mathjax-offline`
package's files and the theme's fonts and scripts from its own package; ipywidgets' CDN scripts are switched off.
"""

import hashlib
import importlib.util
import os
import re
import shutil
from pathlib import Path

from audiodiff_minimal.utils import notebook_environment

SITE = Path(__file__).resolve().parent
ROOT = SITE.parent

# ---- the environment of the kernels that execute the notebooks (as conftest.py sets it for nbval) ----
notebook_environment(environ=os.environ)  # quick mode unless AUDIODIFF_QUICK is set (build.py sets it)
MODE = "quick" if os.environ["AUDIODIFF_QUICK"] != "0" else "full"

# ---- the executions' cache: one per mode; emptied when the package or a shipped checkpoint changes ----
# jupyter-cache keys an execution on the notebook's code alone, so a change to audiodiff_minimal/ would
# otherwise leave pages showing what the old code printed.
CACHE = SITE / "_build" / MODE / "jupyter_cache"


def _code_stamp() -> str:
    digest = hashlib.sha256()
    files = sorted((ROOT / "audiodiff_minimal").rglob("*.py")) + sorted((ROOT / "data" / "checkpoints").rglob("*"))
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


STAMP = _code_stamp()
_stamp_file = CACHE.parent / "code_stamp.txt"
CODE_CHANGED = not _stamp_file.exists() or _stamp_file.read_text() != STAMP
if CODE_CHANGED and CACHE.exists():
    shutil.rmtree(CACHE)

# ---- project ----
project = "audiodiff-minimal"
author = "the audiodiff-minimal authors"
copyright = "MIT licence"
root_doc = "README"  # the landing page; build.py adds index.html, which opens it
# The sources are the repository root; only these files are pages (the rest of the tree is not the book).
include_patterns = [
    "README.md",
    "CONTRIBUTING.md",
    "docs/STYLE.md",
    "data/README.md",
    "notebooks/*.ipynb",
    "notebooks/solutions/*.ipynb",
    "data/checkpoints/*/MODEL_CARD.md",
    "benchmarks/README.md",
    "benchmarks/PEERS.md",
    "benchmarks/mutation_results.md",
]
exclude_patterns = ["site/_build", "**/.ipynb_checkpoints"]

extensions = ["myst_nb", "sphinx.ext.mathjax"]

# ---- MyST and MyST-NB ----
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True  # $$...$$ inside a paragraph is display math, as Jupyter renders it
myst_heading_anchors = 3  # the README's links to its own sections (#quick-mode etc.)
nb_execution_mode = "cache"
nb_execution_cache_path = str(CACHE)
# Seconds per cell (and per wait on the kernel). Quick mode's slowest cell takes about 75 s on a loaded 2-core machine.
# In one clean build of 2026-12-03, chapter 01 took 609 s in a parallel worker: its cells all ran in about 9 s, the
# kernel then sat idle and the client waited one whole timeout without an error (cause not found). A short quick-mode
# timeout bounds what such a stall costs CI.
nb_execution_timeout = int(os.environ.get("AUDIODIFF_SITE_CELL_TIMEOUT", "180" if MODE == "quick" else "600"))
nb_execution_raise_on_error = True  # a cell that errors fails the build (cells tagged raises-exception excepted)
nb_execution_show_tb = True
nb_execution_in_temp = False  # run in the notebook's own folder, as a reader and nbval do
nb_merge_streams = True
# Widgets need a running kernel: the static site shows no widget views, and loads no widget scripts from a CDN.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

# ---- HTML ----
html_theme = "sphinx_book_theme"
html_title = "audiodiff-minimal"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "navigation_with_keys": False,
}
html_context = {"default_mode": "light"}  # unset, the theme logs a console error on a first visit
html_last_updated_fmt = None
# MathJax 3 with its fonts, as the sphinx-mathjax-offline package ships it: copied into _static/mathjax/. (Only its
# files are used, not its Sphinx extension, which does not declare itself safe for a parallel build.)
_mathjax_pkg = importlib.util.find_spec("sphinx-mathjax-offline")
if _mathjax_pkg is None:
    raise ImportError("the site needs the docs extra: pip install -e '.[docs]' (sphinx-mathjax-offline is missing)")
html_static_path = [str(Path(_mathjax_pkg.origin).parent / "static")]
mathjax_path = "mathjax/tex-chtml.js"
suppress_warnings = ["myst.header"]  # heading levels that skip one (## right under a #### etc.); not an error

TOC = (SITE / "toc.md").read_text()


# Pages whose file starts with no title get one on the site (the file itself is written by a script).
TITLES = {"benchmarks/mutation_results": "The mutation benchmark: the last full table"}


FOLDER_LINK = re.compile(r"\]\((?!\w+://)([^()\s#]+/)\)")  # [text](notebooks/solutions/): a link to a folder


def _folder_links(app, docname, source):
    """A Markdown page's links to a folder (which GitHub lists) go to the folder's first page on the site."""

    def first_page(match):
        folder = ((ROOT / docname).parent / match.group(1)).resolve()
        files = sorted(folder.glob("*.*")) if folder.is_relative_to(ROOT) else []
        pages = [p for p in files if str(p.relative_to(ROOT).with_suffix("")) in app.env.found_docs]
        return f"]({match.group(1)}{pages[0].name})" if pages else match.group(0)

    if app.env.doc2path(docname).suffix == ".md":
        source[0] = FOLDER_LINK.sub(first_page, source[0])


def _add_toc(app, docname, source):
    """Append the book's table of contents (site/toc.md) to the landing page, the README, as a hidden toctree."""
    _folder_links(app, docname, source)
    if docname == root_doc:
        source[0] += "\n\n" + TOC
    if docname in TITLES:
        source[0] = f"# {TITLES[docname]}\n\n" + source[0]


def _outdated(app, env, added, changed, removed):
    """After the package or a checkpoint changed, every notebook is executed again (its cache was emptied)."""
    return [d for d in env.found_docs if env.doc2path(d).suffix == ".ipynb"] if CODE_CHANGED else []


def _finished(app, exc):
    if exc is None:
        _stamp_file.parent.mkdir(parents=True, exist_ok=True)
        _stamp_file.write_text(STAMP)
        index = Path(app.outdir) / "index.html"
        index.write_text(
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>audiodiff-minimal</title>'
            f'<meta http-equiv="refresh" content="0; url={root_doc}.html"></head>'
            f'<body><a href="{root_doc}.html">audiodiff-minimal</a></body></html>\n'
        )


def setup(app):
    app.connect("source-read", _add_toc)
    app.connect("env-get-outdated", _outdated)
    app.connect("build-finished", _finished)
