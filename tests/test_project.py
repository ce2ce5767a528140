"""Project hygiene: one source of truth for packages and commands, clean notebooks, clean code."""

import ast
import importlib
import importlib.util
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement

import audiodiff_minimal

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]
CONDA_NAMES = {"torch": "pytorch", "soundfile": "pysoundfile"}  # PyPI name -> conda-forge name


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_matches_pyproject():
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    reqs = [Requirement(r) for r in project["dependencies"] + extras["notebooks"] + extras["dev"]]
    wanted = {CONDA_NAMES.get(r.name, r.name): str(r.specifier) for r in reqs}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and dep not in ("pip",) and not dep.startswith("python"):
            name = re.split(r"[<>=!~]", dep, maxsplit=1)[0]
            conda[name] = str(Requirement(f"x{dep[len(name) :]}").specifier)
    assert set(conda) == set(wanted), f"environment.yml and pyproject.toml disagree on: {set(conda) ^ set(wanted)}"
    for name, spec in wanted.items():
        assert conda[name] == spec, f"{name}: environment.yml says {conda[name]!r}, pyproject.toml {spec!r}"


def readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_lines = [line for block in readme_commands() for line in block.splitlines() if "pytest" in line]
    assert test_lines, "the README shows no test command"
    assert test_lines[0].strip() in ci, f"the README's test command {test_lines[0]!r} is not what .ci/run runs"
    assert "torch==2.13.0" in ci


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped(path):
    """Notebooks are committed without outputs (STYLE.md section 9); `nbstripout` them."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                f"{path.name} has outputs: run `nbstripout --keep-id {path.relative_to(ROOT)}`"
            )
    assert path.stat().st_size < 100_000, f"{path.name} is {path.stat().st_size} bytes"


def public_package_names() -> set[str]:
    names = set()
    for mod in pkgutil.walk_packages(audiodiff_minimal.__path__, "audiodiff_minimal."):
        if mod.name.endswith("__main__"):
            continue
        module = importlib.import_module(mod.name)
        for name, obj in vars(module).items():
            if not name.startswith("_") and getattr(obj, "__module__", None) == mod.name and callable(obj):
                names.add(name)
    return names


def code_cells(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            # IPython magics are not Python: drop them before parsing
            yield "\n".join(
                line for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith(("%", "!"))
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_does_not_redefine_package_functions(path):
    """Each function lives in one place (STYLE.md section 2): the package."""
    public = public_package_names()
    for source in code_cells(path):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                assert node.name not in public, f"{path.name} redefines audiodiff_minimal's {node.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_check_cells(path):
    """Check cells (`# CHECK:` + assert) make nbval test the math, not only that cells run."""
    checks = [s for s in code_cells(path) if "# CHECK:" in s and "assert" in s]
    minimum = 1 if path.name.startswith("00_") or "solutions" in path.parts else 2
    assert len(checks) >= minimum, f"{path.name} has {len(checks)} check cells; needs >= {minimum}"


def test_notebook_names_and_solutions():
    chapters = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+", c) for c in chapters), chapters
    for sol in (ROOT / "notebooks" / "solutions").glob("*.ipynb"):
        assert sol.stem.removesuffix("_solutions") in chapters, f"{sol.name} has no chapter"


def test_ruff_clean():
    """ruff from this interpreter's packages, so a venv that is not activated works too."""
    ruff = [sys.executable, "-m", "ruff"]
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is not installed: pip install -e '.[dev]'")
    check = subprocess.run([*ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    paths = [p for p in ["audiodiff_minimal", "tests", "benchmarks", "conftest.py"] if (ROOT / p).exists()]
    fmt = subprocess.run([*ruff, "format", "--check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_package_imports_without_matplotlib_in_numerics():
    """Numerics modules never import matplotlib (STYLE.md section 1)."""
    code = (
        "import sys, audiodiff_minimal.schedules, audiodiff_minimal.forward, audiodiff_minimal.data;"
        "sys.exit('matplotlib' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_nothing_points_outside_the_repository():
    """A user's clone has no ../shared or /work: the package, tests and benchmarks must not refer to them."""
    offenders = []
    for folder in ("audiodiff_minimal", "benchmarks", "tests", "notebooks"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".ipynb", ".md") and path.name != "test_project.py":
                text = path.read_text()
                offenders += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(r"\.\./shared\S*|/work/\S+", text)]
    assert not offenders, offenders
