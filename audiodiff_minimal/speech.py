"""Real speech to learn from: the Free Spoken Digit Dataset, its log-mel spectrogram, noise and batches.

Introduced in ``10_real_speech`` (a diffusion vocoder and a diffusion speech enhancer). FSDD files are named
``{digit}_{speaker}_{index}.wav`` (8 kHz mono); the dataset's convention makes indices 0-4 the test split,
and we keep one speaker (:data:`HELD_OUT_SPEAKER`) out of training entirely for a speaker-independent test.
``data/fsdd/`` holds a committed subset (see its README: CC BY-SA 4.0, not the code's licence); the shipped
models train on the full set, whose folder a training script takes as an argument
(``fsdd.download_fsdd()`` fetches it).

Levels: every clip the models see is scaled to RMS :data:`RMS` = 0.05 (about -26 dBFS, peaks near 0.3-0.6
for these recordings), so a loud and a quiet recording of the same digit look alike to the network.
"""

import functools
import hashlib
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .audio import load_wav

FSDD_DIR = Path(__file__).resolve().parents[1] / "data" / "fsdd"  # the committed subset
HELD_OUT_SPEAKER = "george"  # never trained on: the "unseen" split
TEST_INDICES = range(5)  # the dataset's convention: indices 0-4 of each speaker and digit are the test split
RMS = 0.05  # the level of every clip the models see (normalize_rms)
SR = 8000

# --------------------------------------------------------------------------- the index and its splits


@dataclass(frozen=True)
class Utterance:
    """One FSDD recording: ``{digit}_{speaker}_{index}.wav``."""

    path: Path
    digit: int
    speaker: str
    index: int


NAME = re.compile(r"^([0-9])_([a-z]+)_([0-9]+)\.wav$")


def fsdd_index(root: str | Path) -> list[Utterance]:
    """Every ``*.wav`` in ``root`` as an :class:`Utterance`, sorted by file name.

    Raises:
        ValueError: a WAV whose name is not ``{digit}_{speaker}_{index}.wav`` (named), or a folder without any.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder (fsdd.download_fsdd() fetches the dataset)")
    found = []
    for path in sorted(root.glob("*.wav")):
        m = NAME.match(path.name)
        if m is None:
            raise ValueError(f"{path}: not an FSDD name {{digit}}_{{speaker}}_{{index}}.wav; move it out of {root}")
        found.append(Utterance(path, int(m.group(1)), m.group(2), int(m.group(3))))
    if not found:
        raise ValueError(f"{root}: no FSDD recordings (*.wav) in this folder")
    return found


def split(utterances: list[Utterance], which: str) -> list[Utterance]:
    """The ``"train"``, ``"test"`` or ``"unseen"`` part of ``utterances``.

    ``"unseen"``: every file of :data:`HELD_OUT_SPEAKER`; ``"test"``: indices 0-4 of the other speakers;
    ``"train"``: indices 5 and up of the other speakers. The three never overlap.
    """
    rules = {
        "train": lambda u: u.speaker != HELD_OUT_SPEAKER and u.index not in TEST_INDICES,
        "test": lambda u: u.speaker != HELD_OUT_SPEAKER and u.index in TEST_INDICES,
        "unseen": lambda u: u.speaker == HELD_OUT_SPEAKER,
    }
    if which not in rules:
        raise ValueError(f"split: which must be one of {sorted(rules)}, got {which!r}")
    return [u for u in utterances if rules[which](u)]


# --------------------------------------------------------------------------- loading and level


def load_utterance(path: str | Path, sr: int = SR) -> torch.Tensor:
    """A recording as a mono (L,) float32 tensor at ``sr``, converted and checked by :func:`audio.load_wav`.

    Any sample rate and channel count is converted; a silent, too short, NaN or corrupt file raises
    ``audio.AudioFileError`` naming it.
    """
    x, _ = load_wav(path, sr=sr)
    return torch.from_numpy(x)


def normalize_rms(x: torch.Tensor, rms: float = RMS) -> torch.Tensor:
    """Scale each clip of ``x`` (..., L) to root-mean-square ``rms`` over its last axis (default 0.05, -26 dBFS)."""
    current = x.pow(2).mean(-1, keepdim=True).sqrt()
    return x * (rms / current.clamp_min(1e-8))


# --------------------------------------------------------------------------- the log-mel spectrogram


@dataclass(frozen=True)
class MelConfig:
    """The log-mel spectrogram the vocoder is conditioned on (and the digit classifier reads).

    Magnitude (power 1) of a Hann-windowed STFT with ``center=True`` (zero padding), mapped by
    ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)`` (Slaney mel scale and area normalisation,
    librosa's defaults), then ``log(max(mel, floor))``.
    """

    sr: int = SR
    n_fft: int = 512  # 64 ms window at 8 kHz
    hop: int = 128  # 16 ms hop: 62.5 frames per second
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float = 4000.0  # Nyquist at 8 kHz
    floor: float = 1e-5  # log floor: -11.5 nats, far below a speech frame at RMS 0.05


@functools.cache
def mel_filters(cfg: MelConfig) -> torch.Tensor:
    """The (n_mels, n_fft // 2 + 1) float32 mel filter bank of ``librosa.filters.mel`` (htk=False, norm="slaney")."""
    import librosa

    fb = librosa.filters.mel(sr=cfg.sr, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax)
    return torch.from_numpy(fb).float()


def log_mel(x: torch.Tensor, cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """log(max(M |STFT(x)|, floor)): the log-mel spectrogram of audio ``x``.

    Args:
        x: (B, L) or (B, 1, L) audio at ``cfg.sr``.
    Returns:
        (B, n_mels, frames) with frames = L // hop + 1 (centred frames: frame k is centred on sample k * hop).
    """
    x = x.reshape(-1, x.shape[-1])  # (B, L)
    window = torch.hann_window(cfg.n_fft, device=x.device, dtype=x.dtype)  # periodic, as librosa's
    spec = torch.stft(x, cfg.n_fft, cfg.hop, window=window, center=True, pad_mode="constant", return_complex=True)
    mel = mel_filters(cfg).to(x.device, x.dtype) @ spec.abs()  # (B, n_mels, frames)
    return torch.log(mel.clamp_min(cfg.floor))


def mel_to_samples(m: torch.Tensor, hop: int, length: int) -> torch.Tensor:
    """Upsample frames to samples for conditioning: sample n takes frame round(n / hop) (halves round up).

    Frames are centred (``center=True``): frame k covers samples k hop - n_fft/2 .. k hop + n_fft/2, so the
    frame nearest to sample n is round(n / hop), not floor(n / hop) (that would be half a hop late).
    DiffWave (Kong et al. 2021) and WaveGrad (Chen et al. 2021) upsample with learned transposed convolutions;
    we repeat frames and let the U-Net's first layers smooth them.

    Args:
        m: (B, n_mels, frames).  hop: samples between frames.  length: L, the samples wanted.
    Returns:
        (B, n_mels, L); samples past the last frame's centre take the last frame.
    """
    n = torch.arange(length, device=m.device)
    frame = ((n + hop // 2) // hop).clamp(max=m.shape[-1] - 1)  # round(n / hop), halves up
    return m[..., frame]


def mel_condition(x: torch.Tensor, cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """The vocoder's conditioning: the log-mel of ``x`` (B, 1, L) upsampled to (B, n_mels, L)."""
    return mel_to_samples(log_mel(x, cfg), cfg.hop, x.shape[-1])


# --------------------------------------------------------------------------- noise and mixing

NOISE_KINDS = ("white", "pink", "hum", "babble")
SNR_RANGE = (-5.0, 15.0)  # dB, drawn uniformly in training
# The enhancer's conditioning is the mixture of a clean clip at RMS 0.05 and noise at SNR in SNR_RANGE: its RMS is
# 0.05 sqrt(1 + 10^(-SNR/10)), 0.051 to 0.10. The CLI scales a noisy input to the level of the median SNR, 5 dB:
NOISY_RMS = RMS * math.sqrt(1 + 10 ** (-5.0 / 10))  # 0.0574


def pink_noise(length: int, generator: torch.Generator) -> torch.Tensor:
    """Noise with power spectrum 1/f: white noise shaped in the frequency domain by 1/sqrt(f) (no DC). (L,)"""
    spectrum = torch.fft.rfft(torch.randn(length, generator=generator, dtype=torch.float64))
    f = torch.fft.rfftfreq(length, dtype=torch.float64)  # cycles per sample, (L // 2 + 1,)
    spectrum = spectrum * torch.where(f > 0, f.clamp_min(1e-12) ** -0.5, 0.0)  # power ~ 1/f
    return torch.fft.irfft(spectrum, n=length).float()


def hum_noise(length: int, sr: int, generator: torch.Generator, harmonics: int = 8) -> torch.Tensor:
    """Mains hum: 50 or 60 Hz (a coin) and its harmonics k f0 below Nyquist, amplitude 1/k, random phases. (L,)"""
    u = torch.rand(1 + harmonics, generator=generator, dtype=torch.float64)
    f0 = 50.0 if u[0] < 0.5 else 60.0
    n = torch.arange(length, dtype=torch.float64) / sr  # seconds
    x = sum(torch.sin(2 * math.pi * k * f0 * n + 2 * math.pi * u[k]) / k for k in range(1, harmonics + 1)
            if k * f0 < sr / 2)  # fmt: skip
    return x.float()


def babble_noise(length: int, pool: list[torch.Tensor], generator: torch.Generator) -> torch.Tensor:
    """Several people talking: the sum of 3-5 clips of ``pool`` (other speakers), each at a random offset. (L,)"""
    if len(pool) < 5:
        raise ValueError(f"babble needs a pool of at least 5 clips of other speakers, got {len(pool)}")
    n = int(torch.randint(3, 6, (), generator=generator))
    picks = torch.randperm(len(pool), generator=generator)[:n]
    return sum(random_crop(normalize_rms(pool[int(i)]), length, generator) for i in picks)


def make_noise(
    kind: str, length: int, sr: int, generator: torch.Generator, babble: list[torch.Tensor] | None = None
) -> torch.Tensor:
    """A noise clip (L,) at unit RMS: ``kind`` one of :data:`NOISE_KINDS`; ``babble``: the pool for "babble"."""
    if kind == "white":
        x = torch.randn(length, generator=generator)
    elif kind == "pink":
        x = pink_noise(length, generator)
    elif kind == "hum":
        x = hum_noise(length, sr, generator)
    elif kind == "babble":
        if babble is None:
            raise ValueError("make_noise('babble') needs babble=, a pool of clips of other speakers")
        x = babble_noise(length, babble, generator)
    else:
        raise ValueError(f"make_noise: kind must be one of {NOISE_KINDS}, got {kind!r}")
    return normalize_rms(x, 1.0)


def mix_at_snr(clean: torch.Tensor, noise: torch.Tensor, snr_db) -> torch.Tensor:
    """clean + g noise with g chosen so that 10 log10(P_clean / P_{g noise}) = snr_db (P: mean square).

    Powers add in decibels as 10 log10 (amplitudes as 20 log10): g = sqrt(P_clean / (P_noise 10^(snr/10))).
    Args:
        clean, noise: (..., L).  snr_db: a float or a tensor broadcastable to (...,).
    Returns:
        (..., L) the noisy mixture.
    """
    snr_db = torch.as_tensor(snr_db, dtype=clean.dtype, device=clean.device)
    p_clean, p_noise = clean.pow(2).mean(-1), noise.pow(2).mean(-1)  # (...,)
    g = torch.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))
    return clean + g[..., None] * noise


# --------------------------------------------------------------------------- batches for the two tasks

TASKS = {"vocoder": MelConfig().n_mels, "enhancer": 1}  # task -> channels of its conditioning signal
TRAIN_RULE = f"indices 5-49 of every speaker but {HELD_OUT_SPEAKER} (speech.split(fsdd_index(folder), 'train'))"


def task_settings(task: str, utterances: list[Utterance]) -> dict:
    """What a speech run's checkpoint records about its data (JSON): the task, levels, mel or noise, files."""
    names = "\n".join(sorted(u.path.name for u in utterances)).encode()
    digest = hashlib.sha256(names).hexdigest()[:16]
    settings = {"task": task, "rms": RMS, "held_out_speaker": HELD_OUT_SPEAKER, "train_rule": TRAIN_RULE,
                "train_files": len(utterances), "train_files_sha256": digest}  # fmt: skip
    if task == "vocoder":
        return settings | {"mel": asdict(MelConfig())}
    return settings | {"noise": list(NOISE_KINDS), "snr_db": list(SNR_RANGE), "noisy_rms": NOISY_RMS}


def load_clips(utterances: list[Utterance], sr: int = SR) -> list[tuple[Utterance, torch.Tensor]]:
    """Each utterance loaded (:func:`load_utterance`) and scaled to RMS :data:`RMS` over the whole recording."""
    return [(u, normalize_rms(load_utterance(u.path, sr))) for u in utterances]


def random_crop(x: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """A random window of ``length`` samples of ``x`` (L_x,); a shorter clip is zero-padded at a random offset."""
    if len(x) >= length:
        start = int(torch.randint(len(x) - length + 1, (), generator=generator))
        return x[start : start + length]
    offset = int(torch.randint(length - len(x) + 1, (), generator=generator))
    return torch.nn.functional.pad(x, (offset, length - len(x) - offset))


def vocoder_batches(clips: list, length: int, mel_cfg: MelConfig, generator: torch.Generator):
    """``draw(B) -> (x0 (B, 1, L), cond (B, n_mels, L))``: clean crops at RMS 0.05 and their upsampled log-mel.

    ``clips``: :func:`load_clips`'s list. All randomness from ``generator`` (CPU).
    """

    def draw(B: int):
        idx = torch.randint(len(clips), (B,), generator=generator)
        x0 = torch.stack([random_crop(clips[int(i)][1], length, generator) for i in idx])[:, None]  # (B, 1, L)
        return x0, mel_condition(x0, mel_cfg)

    return draw


def enhancer_batches(clips: list, babble_pool: list, length: int, generator: torch.Generator, sr: int = SR):
    """``draw(B) -> (x0 (B, 1, L), cond (B, 1, L))``: clean crops at RMS 0.05 and the same crops with noise added.

    Each clip gets a noise kind of :data:`NOISE_KINDS` (uniform) at an SNR uniform in :data:`SNR_RANGE`; babble is
    made of ``babble_pool`` clips (:func:`load_clips`'s list) of speakers other than the clip's own.
    """

    def draw(B: int):
        x0, cond = [], []
        for i in torch.randint(len(clips), (B,), generator=generator):
            utt, clip = clips[int(i)]
            clean = random_crop(clip, length, generator)
            kind = NOISE_KINDS[int(torch.randint(len(NOISE_KINDS), (), generator=generator))]
            others = [x for u, x in babble_pool if u.speaker != utt.speaker] if kind == "babble" else None
            noise = make_noise(kind, length, sr, generator, babble=others)
            snr = SNR_RANGE[0] + (SNR_RANGE[1] - SNR_RANGE[0]) * torch.rand((), generator=generator)
            x0.append(clean)
            cond.append(mix_at_snr(clean, noise, snr))
        return torch.stack(x0)[:, None], torch.stack(cond)[:, None]  # (B, 1, L) each

    return draw


def speed_perturb(x: torch.Tensor, factor: float) -> torch.Tensor:
    """``x`` (L,) played ``factor`` times faster (tempo and pitch together, linear interpolation): (round(L / factor),).

    Speed perturbation (Ko et al. 2015) makes a voice higher or lower: cheap new "speakers" for a recogniser.
    """
    n = max(2, round(len(x) / factor))
    return torch.nn.functional.interpolate(x[None, None], size=n, mode="linear", align_corners=True)[0, 0]


def digit_batches(clips: list, length: int, generator: torch.Generator, speed=(1.0, 1.0)):
    """``draw(B) -> (x (B, 1, L), digit (B,) int64)``: random crops of :func:`load_clips`'s clips (the classifier),
    each played at a speed drawn uniformly from ``speed`` (:func:`speed_perturb`; (1, 1): unchanged)."""

    def draw(B: int):
        idx = torch.randint(len(clips), (B,), generator=generator)
        factors = speed[0] + (speed[1] - speed[0]) * torch.rand(B, generator=generator, dtype=torch.float64)
        x = [speed_perturb(clips[int(i)][1], float(f)) for i, f in zip(idx, factors, strict=True)]
        x = torch.stack([random_crop(v, length, generator) for v in x])[:, None]  # (B, 1, L)
        return x, torch.tensor([clips[int(i)][0].digit for i in idx])

    return draw


def center_fit(x: torch.Tensor, length: int) -> torch.Tensor:
    """``x`` (..., L_x) cut or zero-padded to ``length`` samples around its centre (the classifier's test input)."""
    extra = x.shape[-1] - length
    if extra >= 0:
        return x[..., extra // 2 : extra // 2 + length]
    return torch.nn.functional.pad(x, (-extra // 2, -extra - (-extra // 2)))
