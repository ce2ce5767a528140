"""Tests for the WaveNet baseline of chapter 07 (models/wavenet.py)."""

import math

import pytest
import torch

from audiodiff_minimal.checkpoint import CheckpointError, read_record
from audiodiff_minimal.data import draw_toy_notes
from audiodiff_minimal.losses import diffusion_nll_bound, quantize
from audiodiff_minimal.models.wavenet import (
    WaveNet,
    WaveNetConfig,
    bits_per_pcm_sample,
    mu_law_bin_counts,
    mu_law_decode,
    mu_law_encode,
)
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.train import save_wavenet, train_wavenet

TINY = WaveNetConfig(channels=8, skip=16, n_dilations=4, stacks=2)


pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def tiny(seed=0):
    torch.manual_seed(seed)
    return WaveNet(TINY).eval()


def test_shapes():
    c = torch.randint(256, (3, 100))
    assert tiny()(c).shape == (3, 256, 100)
    assert tiny().nll_bits(torch.zeros(3, 1, 100)).shape == (3, 100)


def test_mu_law_round_trip_and_companding():
    x = torch.linspace(-1, 1, 20001)
    err = (mu_law_decode(mu_law_encode(x)) - x).abs()
    # levels are 2/mu apart in y = F(x), so |y - F(x)| <= 1/mu; dx/dy = ln(256) (1/mu + |x|) grows by at most
    # 256^(1/mu) = 1.022 within half a level: |error| <= 1.03 ln(256) (1/mu + |x|) / mu
    bound = 1.03 * math.log(256) * (1 / 255 + x.abs()) / 255
    assert (err <= bound).all()
    assert err[x.abs() < 0.01].max() < 10 * err[x.abs() > 0.99].max() / 100  # 100x finer steps near silence
    c = torch.arange(256)
    assert torch.equal(mu_law_encode(mu_law_decode(c)), c)
    assert mu_law_encode(torch.tensor([-1.0, 0.0, 1.0])).tolist() == [0, 128, 255]


def test_bits_conversion_matches_brute_force():
    counts = mu_law_bin_counts()
    assert counts.sum() == 2**16 and (counts > 0).all()
    # brute force: build p over every 16-bit value from a random categorical, read off -log2 p(v)
    g = torch.Generator().manual_seed(0)
    P = torch.softmax(torch.randn(256, generator=g, dtype=torch.float64), 0)
    grid = torch.arange(-(2**15), 2**15, dtype=torch.float64) / 2**15
    cls = mu_law_encode(grid)
    p16 = P[cls] / counts[cls]
    assert abs(p16.sum().item() - 1) < 1e-9
    v = torch.randint(2**16, (50,), generator=g)
    fast = bits_per_pcm_sample(-torch.log2(P[cls[v]]), cls[v])
    assert torch.allclose(fast, -torch.log2(p16[v]), atol=1e-9)


def test_causality_and_receptive_field():
    model, L = tiny(), 120
    c = torch.randint(256, (1, L), generator=torch.Generator().manual_seed(1))
    base = model(c)
    m = 70
    c2 = c.clone()
    c2[0, m] = (c2[0, m] + 77) % 256
    changed = (model(c2) - base).abs().amax(1)[0] > 0
    assert not changed[: m + 1].any()  # logits for x_n, n <= m, do not see x_m
    R = TINY.receptive_field
    assert R == 1 + sum(2**i for i in range(4)) * 2
    assert changed[m + 1 : m + 1 + R].all() and not changed[m + 1 + R :].any()


def test_uniform_model_gives_8_bits():
    model = tiny()
    torch.nn.init.zeros_(model.head[-1].weight)
    torch.nn.init.zeros_(model.head[-1].bias)
    assert torch.allclose(model.nll_bits(torch.randn(2, 1, 50).clamp(-1, 1)), torch.full((2, 50), 8.0))


def test_incremental_generation_matches_teacher_forcing():
    model = tiny()
    x, logp = model.generate(2, 60, generator=torch.Generator().manual_seed(0))
    assert x.shape == (2, 1, 60) and x.abs().max() <= 1
    assert torch.allclose(model.nll_bits(x).double(), -logp / math.log(2), atol=1e-4)
    # a priming sequence is reproduced exactly
    prime = mu_law_encode(quantize(x[:, 0, :20], 16))
    x2, _ = model.generate(2, 30, generator=torch.Generator().manual_seed(5), prime=prime)
    assert torch.equal(x2[:, 0, :20], x[:, 0, :20])


def test_training_reduces_loss_and_is_deterministic():
    runs = []
    for _ in range(2):
        model = tiny()
        runs.append(train_wavenet(model, steps=40, batch=2, lr=5e-3, length=512, progress=False))
    assert runs[0] == runs[1]
    assert sum(runs[0][-5:]) / 5 < sum(runs[0][:5]) / 5 - 0.5


def test_training_saves_a_wavenet_record_that_loads(tmp_path):
    model = tiny()
    losses = train_wavenet(model, steps=4, batch=2, length=256, out=tmp_path / "run", save_every=3, progress=False)
    record = read_record(tmp_path / "run")
    assert (record.kind, record.step, record.length, record.prediction, record.schedule) == (
        "wavenet",
        4,
        256,
        None,
        None,
    )
    assert record.train["steps"] == 4 and record.model == {**record.model, "channels": 8, "stacks": 2}
    loaded, _ = load_model(tmp_path / "run")
    assert all(
        torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True)
    )
    assert len(losses) == 4


def test_checkpoint_round_trip_and_config_check(tmp_path):
    model = tiny(3)
    save_wavenet(model, tmp_path / "ck", step=7)
    loaded, record = load_model(tmp_path / "ck")
    assert record.step == 7 and record.kind == "wavenet" and loaded.config == TINY
    x = draw_toy_notes(1, 200, 8000, torch.Generator().manual_seed(0))[0]
    assert torch.equal(loaded.nll_bits(x), model.nll_bits(x))
    (tmp_path / "ck" / "config.json").write_text('{"kind": "wavenet", "step": 1}')  # validated: names the file
    with pytest.raises(CheckpointError, match="config.json: missing keys"):
        load_model(tmp_path / "ck")


def test_nan_weights_are_never_saved(tmp_path):
    model = tiny()
    with torch.no_grad():
        model.head[-1].bias[3] = float("nan")
    with pytest.raises(FloatingPointError, match="head.3.bias"):
        save_wavenet(model, tmp_path / "ck", step=1)
    assert not (tmp_path / "ck" / "config.json").exists()


def test_diffusion_bound_with_a_perfect_denoiser():
    from audiodiff_minimal.schedules import make_schedule

    schedule = make_schedule("cosine", 100)
    x0 = quantize(draw_toy_notes(2, 256, 8000, torch.Generator().manual_seed(0))[0], 16)
    oracle = lambda x_t, t: x0  # noqa: E731  predicts x0 exactly
    b = diffusion_nll_bound(oracle, schedule, x0, "x0", n_t=5)
    assert (b["diffusion"].abs() < 1e-5).all()  # KL of identical posteriors (float32 rounding)
    floor = math.log2(math.sqrt(2 * math.pi * schedule.beta[1].item()) * 2**15)  # Gaussian mass of one bin
    assert ((b["decoder"] - floor).abs() < 1e-3).all()
    assert torch.allclose(b["total"].double(), (b["prior"] + b["diffusion"] + b["decoder"]).double())
    noisy = diffusion_nll_bound(lambda x_t, t: x0 + 0.05, schedule, x0, "x0", n_t=5)
    assert (noisy["diffusion"] > 1e-3).all() and (noisy["decoder"] > floor + 1).all()
