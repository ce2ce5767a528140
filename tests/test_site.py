"""The book as a website, and chapter 01 in JupyterLab, tested in a real browser (headless Chromium).

Marked `site` (and `slow`): `python -m pytest -m "not site"` leaves them out. They need Debian's Chromium
(`apt-get install chromium`) and the `docs` extra (Sphinx, MyST-NB, Playwright for Python, JupyterLab); without
them they are skipped with the reason, except under CI (CI=true), where a missing tool is a failure.
Playwright drives /usr/bin/chromium; it never downloads a browser of its own.

The site is built in quick mode by `python site/build.py` (incremental: an unchanged, already built site is
reused, so `.ci/run` builds it once before the tests). Every request a page makes to another host is blocked
and recorded: the site must work offline.
"""

import contextlib
import functools
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

# A hung page or server fails its test after 20 minutes instead of stalling CI (one local run once hung with
# Chromium idle; a rerun passed in 66 s). 20 minutes leave room for a site build inside the fixture on a busy CPU.
pytestmark = [pytest.mark.site, pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "site" / "_build" / "quick" / "html"
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9]*.ipynb")) + sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))
OTHER_PAGES = ["README", "benchmarks/README", "benchmarks/mutation_results"] + [
    str(p.relative_to(ROOT).with_suffix("")) for p in sorted((ROOT / "data" / "checkpoints").glob("*/MODEL_CARD.md"))
]
CHROMIUM_ARGS = [  # no sandbox as root; no background connections to Google's hosts from a closed network
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(reason: str):
    """A missing browser or package: a skip on a developer's machine, a failure under CI (which installs them)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(reason)


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        _missing("Chromium is not installed: apt-get install -y chromium")
    return path


@pytest.fixture(scope="module")
def browser():
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed: pip install -e '.[docs]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def built_site():
    """The quick-mode site, built (or brought up to date: Sphinx and jupyter-cache redo only what changed)."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        try:
            __import__(module)
        except ImportError:
            _missing(f"{module} is not installed: pip install -e '.[docs]'")
    run = subprocess.run(
        [sys.executable, "site/build.py"], cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    assert run.returncode == 0, f"the site build failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return HTML


@pytest.fixture(scope="module")
def server(built_site):
    """The built site served on a free localhost port (as `python -m http.server` would)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built_site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()


def _open(browser, url: str, local: str):
    """A new page with every request to another host blocked and recorded, console errors collected."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    record = {"external": [], "errors": []}

    def route(r):
        if r.request.url.startswith((local, "data:", "blob:")):
            r.continue_()
        else:
            record["external"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: record["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record["errors"].append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: record["errors"].append(f"request failed: {r.url} {r.failure}"))
    page.goto(url, wait_until="load")
    return page, record


def _notebook_expectations(path: Path) -> dict:
    """What the page of a notebook must show, read off its source: its title, and whether it has math, plots, audio."""
    cells = json.loads(path.read_text())["cells"]
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    title = re.search(r"^# (.+)$", markdown, flags=re.M)
    return {
        "title": title.group(1).strip() if title else None,
        "math": "$" in markdown,
        "figures": bool(re.search(r"\bplt\.|\bplot_\w+\(", code)),
        "audio": "listen(" in code or "Audio(" in code,
    }


PAGE_STATE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const article = document.querySelector('article') || document.body;
  const imgs = [...article.querySelectorAll('img')];
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  const audios = [...article.querySelectorAll('audio')];
  audios.forEach(a => { a.preload = 'auto'; if (a.readyState < 4) a.load(); });
  const t0 = Date.now();
  while (audios.some(a => a.readyState < 4 && !a.error) && Date.now() - t0 < 20000) {
    await new Promise(r => setTimeout(r, 100));
  }
  const text = article.cloneNode(true);
  text.querySelectorAll('pre, code, script, style, mjx-container').forEach(e => e.remove());
  return {
    h1: [...article.querySelectorAll('h1')].map(h => h.innerText.replace(/[#¶\\s]+$/, '').trim()),
    images: imgs.map(i => ({src: i.getAttribute('src').slice(0, 60), width: i.naturalWidth, complete: i.complete})),
    audios: audios.map(a => ({state: a.readyState, error: a.error && a.error.code,
                              src: (a.currentSrc || '').slice(0, 22)})),
    math: article.querySelectorAll('.math').length,
    unrendered: [...article.querySelectorAll('.math')].filter(m => !m.querySelector('mjx-container')).length,
    rendered: article.querySelectorAll('mjx-container').length,
    rawDollars: (text.innerText.match(/\\$\\$|\\\\\\(|\\\\\\[/g) || []).length,
  };
}"""


def _words(text: str) -> list[str]:
    return re.findall(r"[0-9A-Za-z]+", text)


def _check_page(page, record, expect: dict):
    state = page.evaluate(PAGE_STATE)
    assert not record["external"], f"requests to other hosts: {record['external']}"
    assert not record["errors"], f"console errors: {record['errors']}"
    if expect.get("title"):  # words compared, not typography (the site curls quotes, renders `code` and math)
        assert state["h1"] and _words(state["h1"][0]) == _words(expect["title"]), (state["h1"], expect["title"])
    else:
        assert state["h1"] and state["h1"][0], "the page has no heading"
    broken = [i for i in state["images"] if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"images not decoded: {broken}"
    if expect.get("figures"):
        assert state["images"], "the notebook plots, but its page shows no figure"
    if expect.get("math"):
        assert state["math"] > 0 and state["rendered"] > 0, "the page has no rendered math"
    assert state["unrendered"] == 0, f"{state['unrendered']} of {state['math']} math elements not rendered by MathJax"
    assert state["rawDollars"] == 0, "raw TeX delimiters ($$, \\(, \\[) in the page's text: math not rendered"
    if expect.get("audio"):
        assert state["audios"], "the notebook plays audio, but its page has no <audio> element"
    for audio in state["audios"]:
        assert audio["src"].startswith("data:audio/"), f"audio not embedded: {audio}"
        assert audio["state"] == 4, f"audio not playable (readyState {audio['state']}, error {audio['error']})"
    return state


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_page_renders_offline(browser, server, path):
    url = server + str(path.relative_to(ROOT).with_suffix(".html"))
    page, record = _open(browser, url, server)
    try:
        _check_page(page, record, _notebook_expectations(path))
    finally:
        page.close()


@pytest.mark.parametrize("doc", OTHER_PAGES)
def test_other_page_renders_offline(browser, server, doc):
    page, record = _open(browser, server + doc + ".html", server)
    try:
        _check_page(page, record, {})
        if doc == "README":  # the landing page lists every chapter in its navigation, in order
            nav = page.eval_on_selector_all("nav.bd-links a", "as => as.map(a => a.getAttribute('href'))")
            chapters = [h for h in nav if re.match(r"notebooks/\d\d_", h)]
            expected = [str(p.relative_to(ROOT).with_suffix(".html")) for p in CHAPTERS if p.parent.name == "notebooks"]
            assert chapters == expected
    finally:
        page.close()


def test_chapter_01_page_shows_the_sliders_view_as_a_strip(browser, server):
    """The site has no kernel, so chapter 01's slider cannot redraw (an embedded widget's state cannot rerun Python):
    its cell shows no output, not the widget's text form; a note and a strip of the same view at fixed steps do."""
    page, record = _open(browser, server + "notebooks/01_noise_process.html", server)
    try:
        assert "interactive(children" not in page.locator("article").inner_text()
        widget_cell = page.locator("div.cell", has_text="interact(show_noisy").first
        assert widget_cell.count() and widget_cell.locator(".cell_output").count() == 0
        note = page.locator("article p", has_text="works in JupyterLab")
        assert note.count() == 1, "the note that the slider needs a kernel is missing"
        strip = note.locator("xpath=following::div[contains(@class, 'cell')][1]")
        assert "plot_clips(strip" in strip.inner_text()
        size = strip.locator(".cell_output img").evaluate("i => [i.complete && i.naturalWidth, i.naturalHeight]")
        assert size[0] > 2 * size[1] > 0, f"the strip's figure is missing or not a strip: {size}"
        assert not record["external"] and not record["errors"], record
    finally:
        page.close()


def test_index_opens_the_landing_page(browser, server):
    page, record = _open(browser, server, server)
    try:
        page.wait_for_url(re.compile(r"README\.html$"))
        assert page.locator("article h1").first.inner_text().startswith("audiodiff-minimal")
        assert not record["external"] and not record["errors"], record
    finally:
        page.close()


# ---------------------------------------------------------------- chapter 01 in JupyterLab ----


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def jupyterlab(tmp_path):
    """A JupyterLab server on a free localhost port, with a token of the test's; stopped after the test."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        _missing("JupyterLab is not installed: pip install -e '.[notebooks]'")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        AUDIODIFF_QUICK="1",
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    env.pop("MPLBACKEND", None)
    # every cell rendered (JupyterLab 4 renders only the cells in view by default); no news pop-up
    for name, value in {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false"},
    }.items():
        settings = tmp_path / "settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(value))
    # JupyterLab writes the notebook it opens (kernel choice, autosave): serve a copy, never the tracked file
    lab_root = tmp_path / "lab"
    (lab_root / "notebooks").mkdir(parents=True)
    shutil.copy2(ROOT / "notebooks" / "01_noise_process.ipynb", lab_root / "notebooks")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}"]
    cmd += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={lab_root}", "--ServerApp.port_retries=0"]
    cmd += ["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None"]
    log = open(tmp_path / "jupyterlab.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, (tmp_path / "jupyterlab.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not start in 120 s"
            time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


INTERACTIVE_FIGURE = ".jp-OutputArea-output .widget-output img, .jp-OutputArea-output .jupyter-widgets-output-area img"


def test_chapter_01_slider_redraws_the_figure_in_jupyterlab(browser, jupyterlab):
    base, token = jupyterlab
    page, record = _open(browser, f"{base}lab/tree/notebooks/01_noise_process.ipynb?token={token}", base)
    try:
        page.set_default_timeout(120_000)
        page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for()
        # JupyterLab asks which kernel to start: a reader accepts the proposed Python 3 (ipykernel)
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        select = page.locator(".jp-Dialog button.jp-mod-accept")
        with contextlib.suppress(PlaywrightTimeout):  # no dialog: the kernel started by itself
            select.wait_for(timeout=30_000)
            select.click()
        page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).first.wait_for()
        # Run > Run All Cells, as a reader does
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
        deadline = time.monotonic() + 600
        while True:  # every code cell has run: prompts read [n], none [*] or [ ]
            texts = prompts.all_inner_texts()
            if texts and all(re.fullmatch(r"\[\d+\]:", t.strip()) for t in texts):
                break
            assert time.monotonic() < deadline, f"Run All did not finish in 600 s: {texts}"
            time.sleep(1)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
        assert errors.count() == 0, errors.all_inner_texts()
        figure = page.locator(INTERACTIVE_FIGURE).first
        figure.scroll_into_view_if_needed()
        before = figure.get_attribute("src")
        assert before and before.startswith("data:image/png"), before
        readout = page.locator(".widget-slider .widget-readout").first
        value_before = readout.inner_text()
        # drag the slider's handle to about 80 % of its track, as a reader does
        track = page.locator(".widget-slider .noUi-target").first.bounding_box()
        handle = page.locator(".widget-slider .noUi-handle").first.bounding_box()
        page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        page.mouse.down()
        page.mouse.move(track["x"] + 0.8 * track["width"], track["y"] + track["height"] / 2, steps=10)
        page.mouse.up()
        assert readout.inner_text() != value_before, "the slider did not move"
        page.wait_for_function(
            "([sel, before]) => { const i = document.querySelector(sel); return i && i.src && i.src !== before; }",
            arg=[INTERACTIVE_FIGURE, before],
            timeout=120_000,
        )
        after = page.locator(INTERACTIVE_FIGURE).first.get_attribute("src")
        assert after.startswith("data:image/png") and after != before, "the figure did not change"
        assert not record["external"], f"requests to other hosts: {record['external']}"
    finally:
        page.close()
