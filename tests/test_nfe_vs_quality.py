"""benchmarks/nfe_vs_quality.py (chapter 09's head to head): its time grids, evaluation counts and JSON table."""

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from audiodiff_minimal import edm
from audiodiff_minimal.samplers import make_timesteps
from audiodiff_minimal.schedules import make_schedule

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("nfe_vs_quality", ROOT / "benchmarks" / "nfe_vs_quality.py")
nvq = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nvq)


@pytest.fixture(scope="module")
def schedule():
    return make_schedule("cosine", 1000)


def log_snr(schedule, t):
    return math.log(schedule.alpha_bar[t].item() / (1 - schedule.alpha_bar[t].item()))


def test_uniform_grid_is_make_timesteps(schedule):
    assert nvq.vp_steps(schedule, 10, "uniform") == make_timesteps(1000, 10)


def test_logsnr_grid_is_uniform_in_log_snr(schedule):
    ts = nvq.vp_steps(schedule, 5, "logsnr")
    assert ts[0] == 1000 and ts[-1] == 1 and ts == sorted(set(ts), reverse=True) and len(ts) == 5
    lam = [log_snr(schedule, t) for t in ts]
    gaps = [b - a for a, b in zip(lam, lam[1:], strict=False)]
    ideal = (lam[-1] - lam[0]) / 4
    # equal gaps up to the rounding to integer steps: mid-range one step of t moves log-SNR by ~0.01, but next to
    # t = T (beta clipped) by ~7, so the first level lands at t = 999 and its two gaps are ~8% off
    assert all(abs(g / ideal - 1) < 0.1 for g in gaps) and abs(gaps[-1] - gaps[-2]) < 0.05, (gaps, ideal)


def test_karras_grid_starts_at_sigma_80_and_ends_at_t_1(schedule):
    ts = nvq.vp_steps(schedule, 10, "karras")
    assert ts[-1] == 1 and len(ts) == 10
    assert abs(math.log(edm.vp_sigma(schedule.alpha_bar[ts[0]].item()) / 80.0)) < 0.05
    sig = [edm.vp_sigma(schedule.alpha_bar[t].item()) for t in ts]
    want = edm.karras_sigmas(10, sig[-1], 80.0)[:-1]
    assert all(abs(math.log(a / b)) < 0.05 for a, b in zip(sig, want, strict=True)), (sig, want)


def test_evaluations(schedule):
    assert nvq.evaluations("edm_heun", 10) == 9 and nvq.evaluations("edm_heun_churn", 20) == 19
    assert nvq.evaluations("heun", 10) == 9 and nvq.evaluations("heun", 9) == 9
    assert nvq.evaluations("dpm", 20) == 20 and nvq.evaluations("ddpm>ddim@200", 40) == 40
    assert nvq.evaluations("dpm@karras", 20, schedule) == len(nvq.vp_steps(schedule, 20, "karras"))


def test_table_from_json(tmp_path, capsys):
    iv = {"value": 1.5, "lo": 1.0, "hi": 2.0, "level": 0.95}
    m = {k: iv for k in nvq.MEASURES}
    sec = {
        "step": 7,
        "n": 256,
        "n_boot": 500,
        "churn": 10.0,
        "bounds": {"real_vs_real": m, "noise_vs_real": m},
        "rows": [{"sampler": "dpm", "budget": 20, "nfe": 20, "seed": 1, "s_per_clip": 0.5, "measures": m}],
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"meta": {"commands": ["x"]}, "sections": {"notes_unet": sec}}))
    nvq.from_json(str(path), None)
    out = capsys.readouterr().out
    assert "| DPM-Solver++(2M) (seed 1) | 20 | 0.500 | 1.5 [1, 2]" in out, out
    assert "n = 256 clips per row and seed" in out


class _Net(torch.nn.Module):
    """A fixed nonlinear "v-prediction" (B, 1, L) -> (B, 1, L), enough to tell samplers apart."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(0.3))

    def forward(self, x, t):
        return self.w * torch.tanh(x) * (t.view(-1, 1, 1) / 1000)


class _Record:
    prediction, length = "v", 16

    def make_schedule(self):
        return make_schedule("cosine", 1000)


def test_hybrid_is_ddpm_or_ddim_at_its_ends():
    """eta = 1 on every step is DDPM (beta_tilde) and eta = 0 on every step is DDIM, seeded as generate() seeds."""
    from audiodiff_minimal.generate import generate

    net, rec = _Net(), _Record()
    with torch.no_grad():
        all_ddpm = nvq.hybrid_clips(net, rec, 6, 3, 5, "ddpm", 0)  # DDPM above t = 0: every step
        all_ddim = nvq.hybrid_clips(net, rec, 6, 3, 5, "ddim", 0)
        ddpm = generate(net, rec, "ddpm", 6, 3, 5, progress=False)
        ddim = generate(net, rec, "ddim", 6, 3, 5, progress=False)
    assert torch.allclose(all_ddpm, ddpm, atol=1e-5) and torch.allclose(all_ddim, ddim, atol=1e-5)
    assert not torch.allclose(ddpm, ddim, atol=1e-3)
