"""Toy-note labels, label dropout and classifier-free guidance (chapter 06)."""

import pytest
import torch

from audiodiff_minimal.data import NUM_NOTE_CLASSES, SCALE_NAMES, TIMBRE_NAMES, label_name, label_to_note, note_label
from audiodiff_minimal.forward import to_x0_eps
from audiodiff_minimal.guidance import conditional_model, drop_labels, guided_model
from audiodiff_minimal.models.unet1d import UNet1D, UNetConfig
from audiodiff_minimal.samplers import ddim_sample, denoiser, dpm_solver_pp_sample
from audiodiff_minimal.schedules import make_schedule

COND = UNetConfig(base=8, mults=(1, 2), down=(4,), groups=4, t_dim=16, heads=2, num_classes=5)


pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def random_cond_net() -> UNet1D:
    """A tiny conditional net with every weight random (the zero-initialised layers too)."""
    model = UNet1D(COND).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model


def batch(B=3, L=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 1, L, generator=g), torch.randint(1, 1001, (B,), generator=g)


def test_note_labels_round_trip_and_formula():
    pitch, timbre = torch.meshgrid(torch.arange(len(SCALE_NAMES)), torch.arange(len(TIMBRE_NAMES)), indexing="ij")
    labels = note_label(pitch.flatten(), timbre.flatten())
    assert NUM_NOTE_CLASSES == 32 and sorted(labels.tolist()) == list(range(32))  # a bijection onto 0..31
    assert note_label(5, 2) == 5 * len(TIMBRE_NAMES) + 2
    p, c = label_to_note(labels)
    assert torch.equal(p, pitch.flatten()) and torch.equal(c, timbre.flatten())
    assert label_to_note(note_label(7, 3)) == (7, 3)
    assert label_name(note_label(5, 1)) == f"A4 {TIMBRE_NAMES[1]}"
    with pytest.raises(ValueError, match="pitch must lie in 0..7"):
        note_label(8, 0)
    with pytest.raises(ValueError, match="timbre must lie in 0..3"):
        note_label(0, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="0..31"):
        label_to_note(32)


def test_drop_labels_rate_and_determinism():
    labels = torch.randint(0, 32, (20_000,), generator=torch.Generator().manual_seed(3))
    dropped = drop_labels(labels, 0.2, 32, torch.Generator().manual_seed(0))
    rate = (dropped == 32).float().mean().item()
    assert abs(rate - 0.2) < 4 * (0.2 * 0.8 / 20_000) ** 0.5  # 4 binomial standard deviations (0.011)
    kept = dropped != 32
    assert torch.equal(dropped[kept], labels[kept])  # the others are untouched
    assert torch.equal(dropped, drop_labels(labels, 0.2, 32, torch.Generator().manual_seed(0)))  # same seed
    assert not torch.equal(dropped, drop_labels(labels, 0.2, 32, torch.Generator().manual_seed(1)))
    assert torch.equal(drop_labels(labels, 0.0, 32, torch.Generator()), labels)
    assert (drop_labels(labels, 1.0, 32, torch.Generator()) == 32).all()


def test_cfg_formula_on_a_known_toy_model():
    calls = []

    def toy(x_t, t, labels):  # cond = x_t + c, uncond = x_t + 9 (null label 9)
        calls.append(x_t.shape[0])
        return x_t + labels.float()[:, None, None]

    x_t, t = batch()
    labels = torch.tensor([0, 2, 4])
    for scale in (0.0, 1.0, 3.0):
        out = guided_model(toy, labels, scale, null_label=9)(x_t, t)
        expected = (x_t + 9) + scale * (labels.float() - 9)[:, None, None]  # Ho & Salimans (2022) Eq. (6)
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    assert calls == [6, 6, 6]  # one forward pass of 2B per call
    out = guided_model(toy, 2, 2.0, null_label=9)(x_t, t)  # an int label means the same class for every clip
    torch.testing.assert_close(out, x_t + 9 + 2.0 * (2 - 9), atol=1e-5, rtol=0)


def test_scale_one_is_conditional_and_zero_is_unconditional():
    model, (x_t, t) = random_cond_net(), batch()
    labels = torch.tensor([0, 3, 4])
    with torch.no_grad():
        cond, uncond = model(x_t, t, labels), model(x_t, t)  # labels=None: the null label
        assert (cond - uncond).abs().max() > 1e-2  # the labels matter, so the checks below can fail
        torch.testing.assert_close(guided_model(model, labels, 1.0)(x_t, t), cond, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(guided_model(model, labels, 0.0)(x_t, t), uncond, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(conditional_model(model, labels)(x_t, t), cond, atol=1e-6, rtol=0)
        torch.testing.assert_close(
            guided_model(model, labels, 4.0)(x_t, t), uncond + 4.0 * (cond - uncond), atol=1e-4, rtol=1e-4
        )


def test_guiding_v_equals_guiding_eps():
    """The mix (1 - s) f_null + s f_c has weights summing to 1, and v -> eps is affine at fixed x_t, t."""
    model, (x_t, t) = random_cond_net(), batch()
    schedule, labels, scale = make_schedule("cosine", 1000), torch.tensor([1, 1, 3]), 3.0
    with torch.no_grad():
        _, eps_from_guided_v = to_x0_eps(guided_model(model, labels, scale)(x_t, t), x_t, t, schedule, "v")
        _, eps_c = to_x0_eps(model(x_t, t, labels), x_t, t, schedule, "v")
        _, eps_null = to_x0_eps(model(x_t, t), x_t, t, schedule, "v")
    torch.testing.assert_close(eps_from_guided_v, eps_null + scale * (eps_c - eps_null), atol=1e-4, rtol=1e-4)


def test_guided_model_plugs_into_samplers():
    model, schedule = random_cond_net(), make_schedule("cosine", 1000)
    guided = guided_model(model, torch.tensor([0, 4]), 2.0)
    denoise = denoiser(guided, schedule, prediction="v")
    for sampler in (ddim_sample, dpm_solver_pp_sample):
        x = sampler(denoise, torch.randn(2, 1, 64, generator=torch.Generator().manual_seed(0)), [1000, 500, 20, 1],
                    schedule)  # fmt: skip
        assert x.shape == (2, 1, 64) and torch.isfinite(x).all()


def test_guidance_errors_are_clear():
    uncond = UNet1D(UNetConfig(base=8, mults=(1, 2), down=(4,), groups=4, t_dim=16, heads=2))
    with pytest.raises(ValueError, match="class-conditional"):
        guided_model(uncond, 0, 2.0)
    x_t, t = batch(B=3)
    with pytest.raises(ValueError, match="do not match a batch of 3"):
        guided_model(random_cond_net(), torch.tensor([0, 1]), 2.0)(x_t, t)
