"""UNet1D: shapes, the divisibility error, the receptive-field trace, determinism (chapter 04)."""

import math
from dataclasses import asdict, replace

import pytest
import torch
import torch.nn.functional as F

from audiodiff_minimal.models.unet1d import (
    UNET_PRESETS,
    ResBlock,
    UNet1D,
    UNetConfig,
    count_params,
    format_trace,
    timestep_features,
    trace_shapes,
)

TINY = UNetConfig(base=8, mults=(1, 2, 2), down=(4, 2), groups=4, t_dim=16, heads=2)


pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def randomize_module(module: torch.nn.Module) -> torch.nn.Module:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return module


def randomize(model: UNet1D) -> UNet1D:
    """Fill the zero-initialised output layers too, so that the output depends on everything."""
    return randomize_module(model)


@pytest.mark.parametrize(
    "config,length",
    [
        (TINY, 64),
        (TINY, 8),
        (TINY, 256),
        (UNET_PRESETS["quick"], 4096),
        (UNetConfig(base=8, mults=(1, 2), down=(3,), groups=4, t_dim=16, attention=False), 81),
    ],  # fmt: skip
)
def test_output_shape_equals_input_shape(config, length):
    model = randomize(UNet1D(config))
    x = torch.randn(3, 1, length)
    out = model(x, torch.tensor([1, 500, 1000]))
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_untrained_model_predicts_zero_and_float_t_works():
    model = UNet1D(TINY)
    out = model(torch.randn(2, 1, 64), torch.tensor([0.25, 0.75]))
    assert torch.equal(out, torch.zeros_like(out))  # zero-initialised head (Dhariwal & Nichol 2021)


def test_length_not_divisible_gives_readable_error():
    model = UNet1D(UNetConfig(base=8, mults=(1, 2, 2, 2), down=(4, 4, 4), groups=4, t_dim=16, heads=2))
    with pytest.raises(ValueError, match=r"length 1000 must be divisible by 64 \(3 downsamplings by 4\); use 1024"):
        model(torch.randn(1, 1, 1000), torch.tensor([1]))


def test_bad_config_errors():
    with pytest.raises(ValueError, match="len\\(down\\) == len\\(mults\\) - 1"):
        UNetConfig(mults=(1, 2), down=(4, 4))
    with pytest.raises(ValueError, match="groups=3 must divide"):
        UNetConfig(base=8, groups=3)
    with pytest.raises(ValueError, match="x_t shaped"):
        UNet1D(TINY)(torch.randn(1, 2, 64), torch.tensor([1]))


def test_deterministic_forward_on_cpu():
    model = randomize(UNet1D(TINY))
    x, t = torch.randn(2, 1, 128, generator=torch.Generator().manual_seed(0)), torch.tensor([3, 900])
    assert torch.equal(model(x, t), model(x, t))
    torch.manual_seed(0)
    a = UNet1D(TINY)
    torch.manual_seed(0)
    b = UNet1D(TINY)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_time_features_and_conditioning():
    f = timestep_features(torch.tensor([0, 7]), 8)
    assert torch.allclose(f[0], torch.tensor([1.0] * 4 + [0.0] * 4))
    assert torch.allclose(f[1, 0], torch.cos(torch.tensor(7.0))) and torch.allclose(
        f[1, 4], torch.sin(torch.tensor(7.0))
    )
    model = randomize(UNet1D(TINY))
    x = torch.randn(1, 1, 64)
    assert not torch.allclose(model(x, torch.tensor([10])), model(x, torch.tensor([900])), atol=1e-4)


def test_time_feature_frequencies_follow_eq_4_1():
    """omega_k = 10000^(-k / K) with K = dim / 2, cosines first (Eq. 4.1): a spacing over dim or K - 1, or sines
    first, moves these values."""
    K, t = 4, 100.0
    omega = [10000.0 ** (-k / K) for k in range(K)]  # 1, 0.1, 0.01, 0.001
    expected = torch.tensor([math.cos(t * w) for w in omega] + [math.sin(t * w) for w in omega])
    torch.testing.assert_close(timestep_features(torch.tensor([t]), 2 * K)[0], expected, atol=2e-5, rtol=0)


def test_resblock_follows_eq_4_2():
    """h = W1 * SiLU(GN(x)); h <- GN(h) (1 + s(e)) + b(e); out = S x + W2 * SiLU(h), term by term."""
    block = randomize_module(ResBlock(4, 8, t_dim=6, kernel=3, groups=2, dropout=0.0))
    g = torch.Generator().manual_seed(2)
    x, emb = torch.randn(2, 4, 16, generator=g), torch.randn(2, 6, generator=g)
    s, b = block.emb(emb)[:, :, None].chunk(2, dim=1)  # (B, 8, 1) each
    h = block.conv1(F.silu(block.norm1(x)))
    h = block.norm2(h) * (1 + s) + b
    torch.testing.assert_close(block(x, emb), block.skip(x) + block.conv2(F.silu(h)), atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # a zero time map leaves GN(h) as it is (scale 1 + 0), so the output still depends on W1
        block.emb.weight.zero_()
        block.emb.bias.zero_()
    before = block(x, emb)
    with torch.no_grad():
        block.conv1.weight.mul_(2)
    assert not torch.allclose(before, block(x, emb), atol=1e-3)


def test_skips_false_feeds_zeros_to_the_decoder():
    """The ablation of chapter 04's exercise 3: same parameters, and the output changes without the skips."""
    with_skips = randomize(UNet1D(TINY))
    without = UNet1D(replace(TINY, skips=False))
    without.load_state_dict(with_skips.state_dict())
    x, t = torch.randn(2, 1, 64, generator=torch.Generator().manual_seed(3)), torch.tensor([5, 500])
    assert count_params(with_skips) == count_params(without)
    assert not torch.allclose(with_skips(x, t), without(x, t), atol=1e-3)


def test_train_unet_ema_is_the_closed_form_average_of_the_raw_iterates(tmp_path):
    """Eq. (4.8) unrolled: EMA_N = prod_n d_n theta_0 + sum_n (1 - d_n) prod_{m > n} d_m theta_n, with
    d_n = min(d, (1 + n) / (10 + n)) and theta_n the raw weights after optimizer step n (run step by step with
    until= and resume=). An EMA taken before the optimizer step, or with d_{n-1}, fails."""
    from audiodiff_minimal.train import TRAIN_PRESETS, train_unet

    config = UNetConfig(base=8, mults=(1, 2), down=(4,), groups=4, t_dim=16, heads=2)
    run = replace(TRAIN_PRESETS["quick"], steps=12, batch_size=2, length=256, warmup=2, ema_decay=0.5)
    torch.manual_seed(run.seed)  # train_unet's initial weights
    iterates = [[p.detach().clone() for p in UNet1D(config).parameters()]]
    for n in range(1, run.steps + 1):
        result = train_unet(config, run, out=tmp_path / "run", resume=True, until=n, device="cpu", progress=False)
        iterates.append([p.detach().clone() for p in result.model.parameters()])
    d = [min(run.ema_decay, (1 + n) / (10 + n)) for n in range(1, run.steps + 1)]  # d_1 .. d_N
    w = [math.prod(d)] + [(1 - d[n - 1]) * math.prod(d[n:]) for n in range(1, run.steps + 1)]
    assert math.isclose(sum(w), 1.0, rel_tol=1e-12) and d[-1] == 0.5  # the decay itself is reached
    for j, p_ema in enumerate(result.ema_model.parameters()):
        closed_form = sum(w_n * theta[j] for w_n, theta in zip(w, iterates, strict=True))
        torch.testing.assert_close(p_ema, closed_form, atol=1e-6, rtol=1e-5)


def test_trace_shapes_and_params():
    model = UNet1D(TINY)
    rows = trace_shapes(model, torch.randn(2, 1, 64), torch.tensor([1, 2]))
    by = {r["stage"]: r for r in rows}
    assert (
        by["stem"]["shape"] == (2, 8, 64) and by["down0"]["shape"] == (2, 16, 16) and by["down1"]["shape"] == (2, 16, 8)
    )
    assert rows[-1]["shape"] == (2, 1, 64)
    assert by["stem"]["params"] == 8 * 1 * 5 + 8  # C_out * C_in * k + bias
    assert sum(r["params"] for r in rows) + count_params(model.time_mlp) == count_params(model)
    assert "rf (samples)" in format_trace(rows)


def conv_receptive_field(model: UNet1D, length: int) -> int:
    """Measured: the input samples whose gradient reaches the middle output sample, with GroupNorm and
    attention replaced by identities (they mix the whole clip through averages only)."""
    for m in list(model.modules()):
        for child_name, child in list(m.named_children()):
            if isinstance(child, torch.nn.GroupNorm) or child_name == "attn":
                setattr(m, child_name, torch.nn.Identity())
    x = torch.randn(1, 1, length, dtype=torch.float64, requires_grad=True)
    model.double()(x, torch.tensor([5]))[0, 0, length // 2].backward()
    nz = (x.grad[0, 0] != 0).nonzero().flatten()
    return int(nz.max() - nz.min() + 1)


def test_receptive_field_bounds_measured_one():
    """The traced receptive field is an upper bound of the measured one, and close to it."""
    model = randomize(UNet1D(TINY))
    rf = trace_shapes(model, torch.randn(1, 1, 512), torch.tensor([1]))[-1]["rf"]
    measured = conv_receptive_field(model, 512)
    assert measured <= rf <= measured + 2 * 8  # grid alignment of the downsamplers costs at most a few samples


def test_receptive_field_formula_by_hand():
    # stem k=5: 5; enc0 2 convs k=5: 13; down0 k=8 s=4: 20, jump 4; enc1 2 convs: 20 + 2*4*4 = 52; ...
    model = UNet1D(UNetConfig(base=8, mults=(1, 2), down=(4,), n_res=1, kernel=5, groups=4, t_dim=16, attention=False))
    rows = {r["stage"]: r["rf"] for r in trace_shapes(model, torch.randn(1, 1, 64), torch.tensor([1]), sr=8000)}
    assert rows["stem"] == 5 and rows["enc0.res0"] == 13 and rows["down0"] == 20 and rows["enc1.res0"] == 52
    assert rows["mid.res1"] == 52 + 4 * 16  # two ResBlocks, each 2 convs of k=5 at jump 4


# Class conditioning (chapter 06)
COND = UNetConfig(base=8, mults=(1, 2, 2), down=(4, 2), groups=4, t_dim=16, heads=2, num_classes=5)


def test_conditional_shapes_and_labels_matter():
    model = randomize(UNet1D(COND))
    g = torch.Generator().manual_seed(0)
    x, t = torch.randn(3, 1, 64, generator=g), torch.tensor([1, 500, 1000])
    out = model(x, t, torch.tensor([0, 2, 4]))
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert model.label_emb.num_embeddings == COND.num_classes + 1 and COND.null_label == 5
    assert not torch.allclose(out, model(x, t, torch.tensor([1, 3, 0])), atol=1e-4)  # the label changes it
    assert torch.equal(model(x, t), model(x, t, torch.full((3,), 5)))  # None means the null label
    assert torch.equal(model(x, t, torch.tensor(2)), model(x, t, torch.tensor([2, 2, 2])))  # one label broadcasts


def test_zero_label_embedding_gives_the_unconditional_net():
    """Conditioning only adds e(c) to the time embedding: with e = 0 the rest is the chapter-04 net."""
    cond = randomize(UNet1D(COND))
    with torch.no_grad():
        cond.label_emb.weight.zero_()
    uncond = UNet1D(UNetConfig(**{**asdict(COND), "num_classes": 0}))
    uncond.load_state_dict({k: v for k, v in cond.state_dict().items() if not k.startswith("label_emb")})
    x, t = torch.randn(2, 1, 64, generator=torch.Generator().manual_seed(0)), torch.tensor([7, 300])
    torch.testing.assert_close(cond(x, t, torch.tensor([0, 4])), uncond(x, t), atol=1e-6, rtol=1e-6)


def test_unconditional_net_unchanged_and_shipped_checkpoint_loads():
    from audiodiff_minimal.checkpoint import read_weights
    from audiodiff_minimal.registry import SHIPPED, load_model

    assert UNetConfig().num_classes == 0 and all(c.num_classes == 0 for c in map(UNET_PRESETS.get, ("quick", "laptop")))
    names = set(UNet1D(UNET_PRESETS["laptop"]).state_dict())
    assert not any("label" in n for n in names)  # no new parameters: old state dicts load with strict=True
    assert '"num_classes"' not in (SHIPPED["notes_unet"] / "config.json").read_text()  # an old config.json
    assert names == set(read_weights(SHIPPED["notes_unet"]))
    model, _ = load_model("notes_unet")  # load_state_dict(strict=True) inside
    assert model.config == UNET_PRESETS["laptop"]
    assert UNET_PRESETS["laptop_cond"] == UNetConfig(**{**asdict(UNET_PRESETS["laptop"]), "num_classes": 32})


def test_label_errors_are_clear():
    x, t = torch.randn(2, 1, 64), torch.tensor([1, 2])
    with pytest.raises(ValueError, match="unconditional.*labels=None"):
        UNet1D(TINY)(x, t, torch.tensor([0, 1]))
    model = UNet1D(COND)
    with pytest.raises(ValueError, match=r"labels must lie in 0..4 \(or 5, the null label\), got 0..6"):
        model(x, t, torch.tensor([0, 6]))
    with pytest.raises(ValueError, match="got -1..1"):
        model(x, t, torch.tensor([-1, 1]))
    with pytest.raises(ValueError, match="must be integers"):
        model(x, t, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="num_classes=-1"):
        UNetConfig(num_classes=-1)
