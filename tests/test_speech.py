"""Chapter 10's data layer: FSDD splits, the log-mel spectrogram, its upsampling, noise, SNR mixing and batches."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from audiodiff_minimal import speech
from audiodiff_minimal.checkpoint import read_record
from audiodiff_minimal.distributed import Dist
from audiodiff_minimal.generate import enhance, vocode
from audiodiff_minimal.models.unet1d import UNET_PRESETS, UNet1D, UNetConfig, trace_shapes
from audiodiff_minimal.registry import load_model
from audiodiff_minimal.speech import FSDD_DIR, HELD_OUT_SPEAKER, MelConfig, Utterance, fsdd_index, log_mel, split
from audiodiff_minimal.train import TrainConfig, train_speech, train_unet

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("one_thread")]


def test_committed_subset_and_splits():
    """data/fsdd holds 400 files: test (150), george 0-9 (100), train-speakers 5-9 (150); splits never overlap."""
    utts = fsdd_index(FSDD_DIR)
    assert len(utts) == 400
    parts = {w: split(utts, w) for w in ("train", "test", "unseen")}
    assert {w: len(p) for w, p in parts.items()} == {"train": 150, "test": 150, "unseen": 100}
    assert all(u.speaker == HELD_OUT_SPEAKER for u in parts["unseen"])
    assert all(u.speaker != HELD_OUT_SPEAKER and u.index >= 5 for u in parts["train"])
    assert all(u.speaker != HELD_OUT_SPEAKER and u.index <= 4 for u in parts["test"])
    assert len({u.path for p in parts.values() for u in p}) == 400
    assert utts[0] == Utterance(FSDD_DIR / "0_george_0.wav", 0, "george", 0)


def test_index_refuses_bad_names(tmp_path):
    (tmp_path / "7_lucas_3.wav").write_bytes(b"")
    (tmp_path / "seven.wav").write_bytes(b"")
    with pytest.raises(ValueError, match="seven.wav"):
        fsdd_index(tmp_path)
    with pytest.raises(ValueError, match="which"):
        split([], "validation")


@pytest.mark.parametrize("length", [4000, 4096, 1000])
def test_log_mel_matches_librosa(length):
    """# CHECK: log_mel = log(max(librosa melspectrogram(power=1), floor)), frames = L // hop + 1."""
    import librosa

    cfg = MelConfig()
    x = torch.randn(2, length, generator=torch.Generator().manual_seed(length)) * 0.05
    x[1, : length // 2] = 0  # a silent half reaches the floor
    m = log_mel(x, cfg)
    ref = librosa.feature.melspectrogram(
        y=x.numpy(), sr=cfg.sr, n_fft=cfg.n_fft, hop_length=cfg.hop, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
        power=1.0,
    )  # fmt: skip
    assert m.shape == (2, cfg.n_mels, length // cfg.hop + 1)
    assert np.abs(m.numpy() - np.log(np.maximum(ref, cfg.floor))).max() < 1e-4
    assert m.min() == pytest.approx(np.log(cfg.floor))


def test_log_mel_is_magnitude_with_a_floor_not_an_offset():
    """# CHECK: power 1 and log(max(mel, floor)): a quiet tail (mel ~ 1e-4) tells log(mel + floor) and power 2 apart."""
    import librosa

    cfg = MelConfig()
    n = torch.arange(4096)
    x = (torch.sin(0.3 * n) * 0.05 * torch.exp(-n / 400.0))[None]  # decays to 1e-6: mel passes through the floor
    ref = librosa.feature.melspectrogram(y=x.numpy(), sr=cfg.sr, n_fft=cfg.n_fft, hop_length=cfg.hop,
                                         n_mels=cfg.n_mels, power=1.0)  # fmt: skip
    assert np.abs(log_mel(x, cfg).numpy() - np.log(np.maximum(ref, cfg.floor))).max() < 1e-4


def test_mel_to_samples_takes_the_nearest_frame_centre():
    """# CHECK: sample n takes frame round(n / hop): frame k owns samples k hop - hop/2 .. k hop + hop/2 - 1.
    floor(n / hop) (or repeat_interleave) is half a hop late and fails."""
    hop, frames = 8, 5
    m = torch.arange(frames, dtype=torch.float32).reshape(1, 1, frames)  # frame k holds the value k
    up = speech.mel_to_samples(m, hop, 6 * hop)[0, 0]
    assert up.shape == (6 * hop,)
    for k in range(1, frames):
        assert up[k * hop - hop // 2] == k and up[k * hop] == k and up[k * hop + hop // 2 - 1] == k
        assert up[k * hop - hop // 2 - 1] == k - 1
    assert (up[(frames - 1) * hop :] == frames - 1).all()  # past the last centre: the last frame


def test_mel_condition_is_loudest_around_a_click():
    """# CHECK: the upsampled log-mel of a click at sample s is loudest on samples centred on s (within hop / 4)."""
    cfg = MelConfig()
    s = 12 * cfg.hop
    x = torch.zeros(1, 1, 32 * cfg.hop)
    x[..., s] = 1.0
    energy = speech.mel_condition(x, cfg)[0].mean(0)  # (L,): the mean log-mel each sample is conditioned on
    loudest = torch.nonzero(energy == energy.max()).float()
    assert abs(loudest.mean().item() - s) < cfg.hop / 4


def test_pink_noise_has_a_one_over_f_spectrum():
    """# CHECK: the averaged periodogram of pink noise has log-log slope -1 (white: 0, brown 1/f^2: -2)."""
    g = torch.Generator().manual_seed(0)
    x = torch.stack([speech.make_noise("pink", 4096, 8000, g) for _ in range(64)]).double()
    power = (torch.fft.rfft(x).abs() ** 2).mean(0).numpy()
    f = np.fft.rfftfreq(4096, 1 / 8000)
    band = (f > 20) & (f < 3500)
    slope = np.polyfit(np.log(f[band]), np.log(power[band]), 1)[0]
    assert -1.1 < slope < -0.9, slope
    assert x.pow(2).mean(-1).sqrt().sub(1).abs().max() < 1e-5  # unit RMS


def test_noise_kinds():
    g = torch.Generator().manual_seed(1)
    hum = speech.make_noise("hum", 8000, 8000, g).double()
    f0 = np.argmax(np.abs(np.fft.rfft(hum.numpy())))  # 1 Hz bins
    assert f0 in (50, 60)
    pool = [torch.randn(3000, generator=g) for _ in range(6)]
    babble = speech.make_noise("babble", 4096, 8000, g, babble=pool)
    assert babble.shape == (4096,) and babble.pow(2).mean().sqrt().item() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="babble"):
        speech.make_noise("babble", 4096, 8000, g)
    with pytest.raises(ValueError, match="kind"):
        speech.make_noise("brown", 4096, 8000, g)


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 7.5, 15.0])
def test_mix_at_snr_is_exact(snr_db):
    """# CHECK: 10 log10(P_clean / P_noise_scaled) = snr_db (20 log10 on powers, or 10^(snr/10) on amplitudes, fail)."""
    g = torch.Generator().manual_seed(2)
    clean, noise = 0.05 * torch.randn(3, 4096, generator=g), 3.0 * torch.randn(3, 4096, generator=g)
    noisy = speech.mix_at_snr(clean, noise, snr_db)
    measured = 10 * torch.log10(clean.pow(2).mean(-1) / (noisy - clean).pow(2).mean(-1))
    assert torch.allclose(measured, torch.full((3,), snr_db), atol=1e-3)
    per_clip = speech.mix_at_snr(clean, noise, torch.tensor([-5.0, 2.0, 10.0]))  # one SNR per clip
    measured = 10 * torch.log10(clean.pow(2).mean(-1) / (per_clip - clean).pow(2).mean(-1))
    assert torch.allclose(measured, torch.tensor([-5.0, 2.0, 10.0]), atol=1e-3)


@pytest.fixture(scope="module")
def clips():
    return speech.load_clips(split(fsdd_index(FSDD_DIR), "train"))


def test_loading_normalises_and_refuses_bad_files(clips, tmp_path):
    assert len(clips) == 150 and all(x.dtype == torch.float32 and x.dim() == 1 for _, x in clips)
    assert all(abs(x.pow(2).mean().sqrt().item() - speech.RMS) < 1e-5 for _, x in clips)
    (tmp_path / "0_x_0.wav").write_bytes(b"RIFF junk")
    with pytest.raises(ValueError, match="0_x_0.wav"):
        speech.load_utterance(tmp_path / "0_x_0.wav")


def test_batches_shapes_levels_and_determinism(clips):
    draws = []
    for _ in range(2):
        g = torch.Generator().manual_seed(3)
        voc, enh = speech.vocoder_batches(clips, 1024, MelConfig(), g), speech.enhancer_batches(clips, clips, 1024, g)
        draws.append((*voc(4), *enh(4)))
    (x0, mel, clean, noisy), again = draws
    assert x0.shape == clean.shape == noisy.shape == (4, 1, 1024) and mel.shape == (4, 64, 1024)
    assert all(torch.equal(a, b) for a, b in zip(draws[0], again, strict=True))
    assert torch.equal(mel, speech.mel_condition(x0))
    assert (noisy - clean).abs().amax(-1).min() > 0  # every clip got noise
    assert x0.pow(2).mean(-1).sqrt().max() < 0.2  # crops of clips at RMS 0.05 (padding lowers it)
    assert speech.center_fit(torch.arange(5.0), 3).tolist() == [1, 2, 3]
    assert speech.center_fit(torch.ones(2), 5).tolist() == [0, 1, 1, 0, 0]


def test_digit_batches(clips):
    x, digit = speech.digit_batches(clips, 2048, torch.Generator().manual_seed(0))(8)
    assert x.shape == (8, 1, 2048) and digit.dtype == torch.int64 and set(digit.tolist()) <= set(range(10))


# --------------------------------------------------------------------------- the U-Net with a conditioning input

QUICK_VOC = UNET_PRESETS["speech_vocoder_quick"]
QUICK_ENH = UNET_PRESETS["speech_enhancer_quick"]


def test_unet_cond_is_used_and_checked():
    torch.manual_seed(0)
    net = UNet1D(replace(QUICK_ENH, cond_channels=2)).eval()
    torch.nn.init.normal_(net.head[-1].weight)  # the head starts at zero: give it weights so outputs differ
    x_t, t = torch.randn(2, 1, 64), torch.tensor([5, 500])
    cond = torch.randn(2, 2, 64)
    out = net(x_t, t, cond=cond)
    assert out.shape == (2, 1, 64)
    assert not torch.allclose(out, net(x_t, t, cond=torch.zeros_like(cond)))  # the conditioning reaches the output
    assert net.stem.in_channels == 3
    with pytest.raises(ValueError, match="cond_channels=2"):
        net(x_t, t)
    with pytest.raises(ValueError, match="shaped"):
        net(x_t, t, cond=cond[:, :1])
    with pytest.raises(ValueError, match="cond_channels=0"):
        UNet1D(replace(QUICK_ENH, cond_channels=0))(x_t, t, cond=cond)
    rows = trace_shapes(net, x_t, t, cond=cond)
    assert rows[0]["stage"] == "stem" and rows[-1]["shape"] == (2, 1, 64)
    with pytest.raises(ValueError, match="cond_channels"):
        UNetConfig(cond_channels=-1)


# --------------------------------------------------------------------------- training and sampling, quick

RUN = TrainConfig(batch_size=2, steps=3, lr=3e-3, warmup=1, ema_decay=0.9, save_every=1, length=1024, T=50)


@pytest.mark.parametrize("task", ["vocoder", "enhancer"])
def test_train_speech_resumes_exactly_and_records_the_task(task, tmp_path):
    """A 3-step run equals a run stopped after step 2 and resumed; the Record names the task and its files."""
    unet = UNET_PRESETS[f"speech_{task}_quick"]
    whole = train_speech(task, unet, RUN, FSDD_DIR, tmp_path / "a", progress=False, device="cpu")
    train_speech(task, unet, RUN, FSDD_DIR, tmp_path / "b", until=2, progress=False, device="cpu")
    resumed = train_speech(task, unet, RUN, FSDD_DIR, tmp_path / "b", resume=True, progress=False, device="cpu")
    assert resumed.losses == whole.losses and len(whole.losses) == 3
    assert all(torch.equal(a, b) for a, b in zip(whole.model.state_dict().values(),
                                                 resumed.model.state_dict().values(), strict=True))  # fmt: skip
    record = read_record(tmp_path / "a")
    assert record.data == f"fsdd-{task}" and record.train["speech"]["train_files"] == 150
    assert record.train["speech"]["held_out_speaker"] == "george"
    assert ("mel" in record.train["speech"]) == (task == "vocoder")
    model, record = load_model(tmp_path / "a")
    x = speech.normalize_rms(speech.load_utterance(FSDD_DIR / "3_george_0.wav"))[None]  # (1, L), L not a multiple
    if task == "enhancer":
        y = enhance(model, record, x, steps=2, rescale=True)
        assert torch.allclose(enhance(model, record, 10 * x, steps=2), 10 * y, atol=1e-5)  # scaled back to the input
    else:
        y = vocode(model, record, speech.log_mel(x), x.shape[-1], steps=2)
    assert y.shape == (1, 1, x.shape[-1]) and torch.isfinite(y).all()


def test_train_speech_refuses_a_net_without_the_task_s_conditioning(tmp_path):
    with pytest.raises(ValueError, match="cond_channels=64"):
        train_speech("vocoder", QUICK_ENH, RUN, FSDD_DIR, progress=False, device="cpu")
    with pytest.raises(ValueError, match="task"):
        train_speech("denoiser", QUICK_ENH, RUN, FSDD_DIR, progress=False, device="cpu")
    with pytest.raises(ValueError, match="train_speech"):
        train_unet(QUICK_ENH, RUN, progress=False, device="cpu")


def test_train_speech_on_meta_runs_until_the_first_loss_value():
    """Batch source, cond, shard, t and eps, the net and the loss all run on the model's device."""
    with pytest.raises(RuntimeError, match="cannot be called on meta tensors"):
        train_speech("vocoder", QUICK_VOC, RUN, FSDD_DIR, dist=Dist(0, 1, torch.device("meta")), progress=False)


def test_shipped_digit_classifier_hears_the_committed_test_split():
    """# CHECK: fsdd_classifier names >= 90 % of the 150 committed test recordings (its card: 0.987 on them)."""
    model, record = load_model("fsdd_classifier")
    clips = speech.load_clips(split(fsdd_index(FSDD_DIR), "test"))
    x = torch.stack([speech.center_fit(c, record.length) for _, c in clips])[:, None]  # (150, 1, 8192)
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == torch.tensor([u.digit for u, _ in clips])).float().mean().item()
    assert record.data == "fsdd-digits" and len(clips) == 150 and accuracy >= 0.9, accuracy
