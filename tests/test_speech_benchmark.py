"""benchmarks/speech_quality.py (chapter 10's tables) runs in quick mode, and its tables come back from its JSON."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("speech_quality", ROOT / "benchmarks" / "speech_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # 13 s on the 2 shared cores under load (measured)
def test_enhance_quick_runs_and_its_json_prints_the_same_tables(bench, tmp_path, capsys):
    """5 clips per split, white noise and babble at 0 dB: the noisy input's SI-SDR is 0 dB within 1 dB (the noise is
    nearly orthogonal to the speech), the oracle Wiener filter raises it, and --from-json prints the same tables."""
    out = tmp_path / "enhance.json"
    doc = bench.main(["enhance", "--quick", "--json", str(out)])
    printed = capsys.readouterr().out
    for split in bench.SPLITS:
        cell = doc["results"][split]["white"]["0"]
        assert len(cell[bench.NOISY]["si_sdr"]) == bench.GROUP and len(cell[bench.NOISY]["pesq"]) == 1
        noisy = np.mean(cell[bench.NOISY]["si_sdr"])
        assert abs(noisy) < 1.0
        assert np.mean(cell["Wiener (oracle noise)"]["si_sdr"]) > noisy + 1.0
        assert 1.0 <= min(cell[bench.NOISY]["pesq"]) and max(cell[bench.NOISY]["stoi"]) <= 1.0
    bench.main(["enhance", "--from-json", str(out)])
    assert capsys.readouterr().out == printed
    assert "Wiener - noisy input" in printed and "SI-SDR (dB)" in printed


@pytest.mark.slow
def test_vocode_quick_runs(bench, tmp_path, capsys):
    """Griffin-Lim with 32 and 100 iterations on 5 clips per split: LSD and PESQ per clip and utterance, CPU time."""
    doc = bench.main(["vocode", "--quick", "--json", str(tmp_path / "vocode.json")])
    printed = capsys.readouterr().out
    for split in bench.SPLITS:
        for method in ("Griffin-Lim (32 it.)", "Griffin-Lim (100 it.)"):
            row = doc["results"][split][method]
            assert len(row["lsd"]) == bench.GROUP and 0 < min(row["lsd"]) and max(row["lsd"]) < 20
            assert len(row["pesq"]) == 1
            assert doc["cpu_s_per_s"][method] > 0
    assert "Griffin-Lim (100 it.) - Griffin-Lim (32 it.)" in printed


def test_merge_adds_methods_and_keeps_the_old_ones(bench):
    old = {"results": {"test": {"white": {"0": {"noisy input": {"pesq": [1.0]}}}}}, "cpu_s_per_s": {"noisy input": 0.0},
           "meta": {"command": "a"}}  # fmt: skip
    new = {"results": {"test": {"white": {"0": {"diffusion enhancer": {"pesq": [2.0]}}}}},
           "cpu_s_per_s": {"diffusion enhancer": 1.0}, "meta": {"command": "b"}}  # fmt: skip
    merged = bench.merge(json.loads(json.dumps(old)), new)
    assert set(merged["results"]["test"]["white"]["0"]) == {"noisy input", "diffusion enhancer"}
    assert merged["meta"]["command"] == "a ; b" and len(merged["runs"]) == 2


def test_enhance_quick_with_the_shipped_enhancer(bench, tmp_path):
    doc = bench.main(["enhance", "--quick", "--n", "5", "--enhancer", "fsdd_enhancer", "--steps", "4"])
    assert len(doc["results"]["test"]["white"]["0"][bench.DIFFUSION_ENH]["si_sdr"]) == bench.GROUP


def test_vocode_quick_with_the_shipped_vocoder(bench):
    doc = bench.main(["vocode", "--quick", "--vocoder", "fsdd_vocoder", "--steps", "4"])
    assert len(doc["results"]["unseen"][bench.DIFFUSION_VOC]["lsd"]) == bench.GROUP
