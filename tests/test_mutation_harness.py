"""The mutation benchmark's harness (benchmarks/mutation_score.py): mutants apply cleanly, stale ones are named."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ms():
    spec = importlib.util.spec_from_file_location("mutation_score", REPO / "benchmarks" / "mutation_score.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_score"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("mutation_score", None)


def test_every_mutant_changes_exactly_one_place(ms, tmp_path):
    """Each mutant applies to the package as it is now, at one place, and the result still compiles."""
    names = [m.name for m in ms.MUTANTS]
    assert len(names) == len(set(names)) and len(names) >= 30
    for m in ms.MUTANTS:
        original = (REPO / ms.PACKAGE / m.file).read_text()
        copy = tmp_path / m.name / m.file
        copy.parent.mkdir(parents=True)
        copy.write_text(original)
        ms.apply_mutant(m, tmp_path / m.name)  # raises StaleMutant with the mutant's name if it no longer fits
        mutated = copy.read_text()
        i = original.index(m.old)
        assert mutated == original[:i] + m.new + original[i + len(m.old) :], m.name
        assert mutated != original, m.name
        assert set(m.test_files()) <= {p.name for p in (REPO / "tests").glob("test_*.py")}, m.name
        assert all((REPO / "notebooks" / f"{nb}.ipynb").is_file() for nb in m.notebooks), m.name


def test_stale_and_broken_mutants_are_reported(ms, tmp_path):
    (tmp_path / "mod.py").write_text("a = 1\nb = a + 1\nc = a + 1\n")
    with pytest.raises(
        ms.StaleMutant, match=r"'gone' is stale: its old snippet is not found in audiodiff_minimal/mod.py"
    ):
        ms.apply_mutant(ms.Mutant("gone", "mod.py", "d = 4", "d = 5", "?"), tmp_path)
    with pytest.raises(ms.StaleMutant, match="found 2 times"):
        ms.apply_mutant(ms.Mutant("twice", "mod.py", "a + 1", "a - 1", "?"), tmp_path)
    with pytest.raises(ms.StaleMutant, match="does not compile"):
        ms.apply_mutant(ms.Mutant("syntax", "mod.py", "b = a + 1", "b = a +", "?"), tmp_path)
    with pytest.raises(ms.StaleMutant, match="does not exist"):
        ms.apply_mutant(ms.Mutant("nofile", "nope.py", "x", "y", "?"), tmp_path)
    assert (tmp_path / "mod.py").read_text() == "a = 1\nb = a + 1\nc = a + 1\n"  # nothing written on failure
    ms.apply_mutant(ms.Mutant("ok", "mod.py", "b = a + 1", "b = a - 1", "?"), tmp_path)
    assert (tmp_path / "mod.py").read_text() == "a = 1\nb = a - 1\nc = a + 1\n"


def test_probe_refuses_code_outside_the_copy(ms, tmp_path):
    """The unit-test run counts only if every imported package module came from the temporary copy."""
    probe = tmp_path / "probe.json"
    inside = ms.Result(None)
    probe.write_text(json.dumps({"audiodiff_minimal": str(tmp_path / "audiodiff_minimal" / "__init__.py")}))
    ms.verify_probe(tmp_path, inside, "")
    assert inside.errors == []
    outside = ms.Result(None)
    probe.write_text(json.dumps({"audiodiff_minimal.forward": str(REPO / "audiodiff_minimal" / "forward.py")}))
    ms.verify_probe(tmp_path, outside, "")
    assert len(outside.errors) == 1 and "did not test the copy" in outside.errors[0]


def test_check_lines_follow_nbval_numbering(ms, tmp_path):
    """nbval numbers code cells only; each failing cell is named by its ``# CHECK:`` line."""
    cells = [
        {"cell_type": "markdown", "source": ["# CHECK: not code"]},
        {"cell_type": "code", "source": ["x = 1\n"]},
        {"cell_type": "markdown", "source": ["text"]},
        {"cell_type": "code", "source": ["# CHECK: x is one\n", "assert x == 1\n"]},
    ]
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps({"cells": cells}))
    assert ms.check_lines(nb) == ["", "x is one"]
    assert ms.error_name("Traceback\n\x1b[31mAssertionError\x1b[0m: no") == "AssertionError"
    assert ms.error_name("ValueError in the input\n#x1B[0;31mIndexError#x1B[0m: out of bounds") == "IndexError"
    # a failing CHECK cell kills; a crash elsewhere, or a check that only lost a name to that crash, does not
    assert ms.is_kill("x is one", "AssertionError") and ms.is_kill("x is one", "ValueError")
    assert not ms.is_kill("x is one", "NameError") and not ms.is_kill("", "IndexError")
