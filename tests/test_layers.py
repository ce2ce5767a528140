"""The package's layers: every module imports only from layers below its own (no upward import, no loop)."""

import ast
import re
from pathlib import Path

import pytest

import audiodiff_minimal

PACKAGE = Path(audiodiff_minimal.__file__).parent


def layers() -> dict[str, int]:
    """module -> layer, read from the table in the package docstring (``models.*`` covers every model)."""
    table = {}
    for line in audiodiff_minimal.__doc__.splitlines():
        m = re.match(r"\s+(\d)\s+([\w.*, ]+?)\s{2,}", line + "  ")
        if m:
            for name in m.group(2).split(","):
                table[name.strip()] = int(m.group(1))
    return table


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def layer_of(name: str, table: dict[str, int]) -> int | None:
    if name in table:
        return table[name]
    if name.startswith("models.") or name == "models":
        return table.get("models.*")
    return None


def package_imports(path: Path) -> set[str]:
    """The package modules that ``path`` imports (relative or absolute imports of audiodiff_minimal)."""
    mod = module_name(path).split(".")
    here = mod if path.name == "__init__.py" else mod[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            base = [p for p in base if p != "__init__"]
            if node.module:
                found.add(".".join([*base, node.module]))
            else:
                found.update(".".join([*base, a.name]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("audiodiff_minimal."):
            found.add(node.module.removeprefix("audiodiff_minimal."))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("audiodiff_minimal.") for a in node.names if a.name.startswith("audiodiff_minimal.")
            )
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if module_name(p) not in ("__init__", "models"))


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_module_imports_only_from_lower_layers(path):
    table = layers()
    name = module_name(path)
    mine = layer_of(name, table)
    assert mine is not None, f"{name} is in no layer: add it to the table in audiodiff_minimal/__init__.py"
    for dep in sorted(package_imports(path)):
        theirs = layer_of(dep, table)
        assert theirs is not None, f"{name} imports {dep}, which is in no layer"
        assert theirs < mine, (
            f"{name} (layer {mine}) imports {dep} (layer {theirs}): an import must point down a layer; "
            "move the shared code down, or the importing code up"
        )


def test_the_layer_test_catches_an_upward_import(tmp_path):
    """The rule bites: checkpoint (3) importing a model (3) or train (4) is refused."""
    table = layers()
    fake = PACKAGE / "checkpoint.py"
    deps = package_imports(fake) | {"models.unet1d", "train"}
    bad = [d for d in deps if layer_of(d, table) >= table["checkpoint"]]
    assert sorted(bad) == ["models.unet1d", "train"]
    assert table["utils"] == 0 and table["__main__"] == 7 and len(table) >= 19
