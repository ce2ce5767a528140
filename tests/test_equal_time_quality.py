"""benchmarks/equal_time_quality.py (the README's equal-time peers table): its JSON tables and its refusal to mix
rows of another budget into a results file."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the script imports peers and nfe_vs_quality from beside it
import equal_time_quality as eqt  # noqa: E402

IV = {"value": 1.5, "lo": 1.0, "hi": 2.0, "level": 0.95}


def doc(**meta):
    m = {k: IV for k in eqt.nvq.MEASURES}
    row = {"sampler": "ddpm", "steps": 100, "seed": 0, "s_per_clip": 0.25, "measures": m}
    model = {"model": "ours-1m", "description": "ours UNet1D", "params": 1_350_000, "steps": 4487,
             "mean_loss": 0.108, "rows": [row]}  # fmt: skip
    meta = {"minutes": 20.0, "threads": 1, "train_seed": 0, "n": 256, "n_boot": 500, "commands": ["x"],
            "machine": "here", **meta}  # fmt: skip
    return {"meta": meta, "models": {"ours-1m": model}, "bounds": {"real_vs_real": m, "noise_vs_real": m}}


def test_tables_from_json(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc()))
    eqt.main(["--from-json", str(path)])
    out = capsys.readouterr().out
    row = "| ours UNet1D | 1.35M | 0 | 4487 | 0.108 | DDPM (ancestral) (sampling seed 0) | 100 | 2 [1, 2] | 2 [1, 2] | "
    assert row + "1.50 [1.00, 2.00] | 1.50 [1.00, 2.00] | 1.50 [1.00, 2.00] | 1.5 [1, 2] | 2 [1, 2] |" in out, out
    assert "| real toy notes (floor) | | | | | | | 2 [1, 2] |" in out, out
    assert "256 clips per row against 256 held-out notes" in out and "20 CPU minutes" in out
    (tmp_path / "other.json").write_text(json.dumps(doc(n=128)))  # another reference set: not one table
    with pytest.raises(SystemExit, match="different reference sets"):
        eqt.main(["--from-json", str(path), str(tmp_path / "other.json")])


def test_refuses_a_results_file_of_another_budget(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc(minutes=5.0)))
    with pytest.raises(SystemExit, match=r"r\.json: made with .*'minutes': 5\.0.*give another --json"):
        eqt.main(["--json", str(path), "--models", "ours-1m"])
    assert json.loads(path.read_text())["meta"]["minutes"] == 5.0  # untouched


def test_merge_joins_models_and_refuses_another_seed(tmp_path, capsys):
    a, b = doc(), doc()
    b["models"] = {"diffusers-1m": {**b["models"]["ours-1m"], "model": "diffusers-1m", "description": "diffusers"}}
    b["meta"]["commands"] = ["y"]
    for name, d in (("a", a), ("b", b)):
        (tmp_path / f"{name}.json").write_text(json.dumps(d))
    out = tmp_path / "m.json"
    eqt.main(["--merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--json", str(out)])
    merged = json.loads(out.read_text())
    assert list(merged["models"]) == ["ours-1m", "diffusers-1m"] and merged["meta"]["commands"] == ["x", "y"]
    assert "| diffusers | 1.35M | 0 | 4487 |" in capsys.readouterr().out
    b["meta"]["train_seed"] = 1
    (tmp_path / "b.json").write_text(json.dumps(b))
    with pytest.raises(SystemExit, match="b.json: another budget, size, seed or reference"):
        eqt.main(["--merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--json", str(out)])


RESULTS = [ROOT / "data" / "results" / f"equal_time_quality{s}.json" for s in ("", "_seed1")]


@pytest.mark.parametrize("readme", ["README.md", "benchmarks/README.md"])
def test_readme_tables_are_the_shipped_results(readme, capsys):
    """Every table row that ``--from-json`` prints from the shipped results is in the README verbatim."""
    eqt.main(["--from-json", *map(str, RESULTS)])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    text = (ROOT / readme).read_text()
    missing = [row for row in rows if row not in text]
    assert rows and not missing, f"{readme} lacks {len(missing)} rows of the shipped results, e.g. {missing[:2]}"
