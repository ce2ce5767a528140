"""Generate audio from a loaded checkpoint, and the steps-versus-quality study (``05_sampling``).

``generate(model, record, ...)`` samples a checkpoint loaded with ``registry.load_model`` (the ``sample``
command of ``cli.py`` uses it); :func:`steps_vs_quality` measures every sampler over a range of step counts
(the notebook's plot, ``benchmarks/steps_vs_quality.py`` and the model card use it). This module draws
figures, so it may import matplotlib; the numerics stay in ``samplers`` and ``evaluate``.
"""

import time

import numpy as np
import torch

from .checkpoint import Record
from .data import SCALE_NAMES, TIMBRE_NAMES
from .data import SR as SR_NOTES
from .evaluate import cents_to_scale, estimate_pitch, evaluate_clips, reference_bounds
from .flow import FLOW_SAMPLERS, flow_timesteps, velocity_model
from .guidance import guided_model
from .metrics import classifier_measures, frame_pitch, pitch_measures
from .samplers import inpaint, sample
from .samplers import progress as progress_bar
from .speech import NOISY_RMS, MelConfig, mel_to_samples
from .utils import to_numpy

SAMPLER_LABELS = {"ddpm": "DDPM (ancestral)", "ddim": "DDIM (eta = 0)", "dpm": "DPM-Solver++(2M)",
                  "euler": "Euler (flow)", "heun": "Heun (flow)"}  # fmt: skip


def generate(
    model,
    record: Record,
    sampler: str = "dpm",
    steps: int = 20,
    n: int = 8,
    seed: int = 0,
    length: int | None = None,
    clip_x0: bool = True,
    progress: bool = True,
    labels=None,
    scale: float = 1.0,
    **kwargs,
) -> torch.Tensor:
    """``n`` clips from a loaded checkpoint (``registry.load_model``), seeded, on the model's device.

    Args:
        model: the network, called as model(x_t, t).  record: its checkpoint record (schedule, prediction, length).
        sampler: "ddpm", "ddim", "dpm"; for a flow-matching record (prediction "fm") "euler" or "heun"
            (``steps`` integration steps from t = 1 to 0; Heun takes 2 network evaluations per step).
        length: clip length (default the training length; must suit the U-Net's down factors).
        clip_x0: clip x0_hat to [-1, 1] at every step, as audio lives there.  kwargs: for the sampler.
        labels: for a class-conditional checkpoint, an int or (n,) class labels (``data.note_label``),
            sampled with classifier-free guidance of scale ``scale`` (1 = plain conditional).
    Returns:
        (n, 1, L) float32 on the CPU.
    """
    device = next(model.parameters()).device
    shape = (n, 1, length or record.length)
    g = torch.Generator().manual_seed(seed)
    net = model if labels is None else guided_model(model, labels, scale)  # (x_t, t) -> prediction
    x_T = torch.randn(shape, generator=g).to(device)  # the start noise, drawn on the CPU
    if record.prediction == "fm":  # flow matching (chapter 09): integrate the velocity from t = 1 to 0
        if sampler not in FLOW_SAMPLERS:
            raise ValueError(f"a flow-matching checkpoint samples with {sorted(FLOW_SAMPLERS)}, not {sampler!r}")
        velocity = velocity_model(net, record.make_schedule().T)  # the net saw the time as T * t
        callback = progress_bar(steps, sampler) if progress else None
        x = FLOW_SAMPLERS[sampler](velocity, x_T, flow_timesteps(steps), callback=callback, **kwargs)
        return (x.clamp(-1, 1) if clip_x0 else x).cpu()
    schedule = record.make_schedule()
    x = sample(net, schedule, x_T, sampler, steps, record.prediction, clip_x0, g, progress, **kwargs)
    return x.cpu()


def sample_with_cond(model, record: Record, cond: torch.Tensor, sampler: str = "dpm", steps: int = 20, seed: int = 0,
                     progress: bool = False) -> torch.Tensor:  # fmt: skip
    """Sample x_0 (B, 1, L) from a net with a conditioning input (chapter 10): the sampler sees
    ``denoise(x_t, t)`` of ``model(x_t, t, None, cond)``; the start noise is drawn from a CPU generator (``seed``).

    Args:
        cond: (B, cond_channels, L) on any device, L a multiple of the U-Net's ``total_down``.
    Returns:
        (B, 1, L) float32 on the CPU, x0_hat clipped to [-1, 1] at every step.
    """
    device = next(model.parameters()).device
    cond = cond.to(device)
    g = torch.Generator().manual_seed(seed)
    x_T = torch.randn((cond.shape[0], 1, cond.shape[-1]), generator=g).to(device)
    net = lambda x_t, t: model(x_t, t, None, cond)  # noqa: E731
    with torch.no_grad():
        return sample(net, record.make_schedule(), x_T, sampler, steps, record.prediction, True, g, progress).cpu()


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad the last axis of ``x`` up to a multiple of ``multiple``."""
    return torch.nn.functional.pad(x, (0, (-x.shape[-1]) % multiple))


def enhance(model, record: Record, noisy, sampler: str = "dpm", steps: int = 20, seed: int = 0, rescale: bool = True,
            progress: bool = False) -> torch.Tensor:  # fmt: skip
    """Clean speech from noisy speech with the enhancer (``fsdd_enhancer``): x_0 ~ p(x_0 | noisy).

    Args:
        noisy: (L,), (B, L) or (B, 1, L) audio at 8 kHz, any length (zero-padded to a multiple of the U-Net's
            total down factor for sampling, cut back after).
        rescale: scale each clip to RMS ``speech.NOISY_RMS`` (0.0574, the median level of the training mixtures)
            before and the result back by the same factor; False: the clips are at the training level already.
    Returns:
        (B, 1, L) float32 on the CPU.
    """
    noisy = torch.as_tensor(noisy, dtype=torch.float32)
    noisy = noisy.reshape(-1, 1, noisy.shape[-1])  # (B, 1, L)
    gain = NOISY_RMS / noisy.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-8) if rescale else torch.ones(1)
    cond = _pad_to(noisy * gain, model.config.total_down)
    x0 = sample_with_cond(model, record, cond, sampler, steps, seed, progress)
    return x0[..., : noisy.shape[-1]] / gain


def vocode(model, record: Record, mel: torch.Tensor, length: int | None = None, sampler: str = "dpm",
           steps: int = 20, seed: int = 0, progress: bool = False) -> torch.Tensor:  # fmt: skip
    """Speech from a log-mel spectrogram with the vocoder (``fsdd_vocoder``): x_0 ~ p(x_0 | mel).

    Args:
        mel: (B, n_mels, frames) ``speech.log_mel`` of audio at RMS 0.05 (``speech.normalize_rms``), in the
            checkpoint's ``speech.MelConfig``.  length: samples wanted (default (frames - 1) hop, the span
            between the first and last frame centres).
    Returns:
        (B, 1, length) float32 on the CPU, at RMS about 0.05.
    """
    cfg = MelConfig(**record.train["speech"]["mel"])
    length = length or (mel.shape[-1] - 1) * cfg.hop
    padded = length + (-length) % model.config.total_down
    x0 = sample_with_cond(model, record, mel_to_samples(mel, cfg.hop, padded), sampler, steps, seed, progress)
    return x0[..., :length]


def pitch_titles(x, sr: int) -> list[str]:
    """One title per clip: its index, nearest scale note and the distance in cents, e.g. '3: E4 +4c'."""
    cents, idx = cents_to_scale(estimate_pitch(x, sr))
    return [f"{i}: {SCALE_NAMES[j]} {c:+.0f}c" for i, (c, j) in enumerate(zip(cents, idx, strict=True))]


def steps_vs_quality(
    model, record: Record, reference, samplers=("ddpm", "ddim", "dpm"), steps_list=(10, 20, 50),
    n: int = 16, seed: int = 0, progress: bool = False,
) -> list[dict]:  # fmt: skip
    """Measures (``evaluate.evaluate_clips`` against ``reference``) for each sampler and number of steps.

    The same seed for every setting, so differences come from the sampler, not the draw. Settings with
    more steps than T are skipped. Returns rows {"sampler", "steps", "s_per_clip", **measures}.
    """
    T = record.make_schedule().T
    generate(model, record, samplers[0], 1, 1, seed, progress=False)  # warm-up: keep it out of the timings
    rows = []
    for name in samplers:
        for steps in steps_list:
            if steps > T:
                continue
            start = time.perf_counter()
            x = generate(model, record, name, steps, n, seed, progress=progress)
            seconds = (time.perf_counter() - start) / n
            rows.append({"sampler": name, "steps": steps, "s_per_clip": seconds, **evaluate_clips(x, reference)})
    return rows


def plot_steps_vs_quality(rows: list[dict], bounds: dict | None = None, measures=("frechet_mel", "pitch_in_tune")):
    """One panel per measure against the number of steps (log axis), a line per sampler; returns the Figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(measures) + 1, figsize=(4.2 * (len(measures) + 1), 3.2), constrained_layout=True)
    for name in dict.fromkeys(r["sampler"] for r in rows):
        mine = [r for r in rows if r["sampler"] == name]
        for ax, key in zip(axes, [*measures, "s_per_clip"], strict=True):
            ax.plot([r["steps"] for r in mine], [r[key] for r in mine], "o-", label=SAMPLER_LABELS.get(name, name))
            ax.set(xscale="log", xlabel="network evaluations (steps)", title=key)
    steps = sorted({r["steps"] for r in rows})
    for ax in axes:
        ax.set_xticks(steps, [str(s) for s in steps])
        ax.minorticks_off()
    axes[-1].set(yscale="log", ylabel="seconds per clip")
    if bounds is not None and "frechet_mel" in measures:
        ax = axes[list(measures).index("frechet_mel")]
        ax.axhline(bounds["real_vs_real"], color="k", ls="--", lw=1, label="real vs real (floor)")
        ax.axhline(bounds["noise_vs_real"], color="k", ls=":", lw=1, label="noise vs real (ceiling)")
        ax.set(yscale="log")
    axes[0].legend(fontsize=8)
    return fig


def markdown_table(rows: list[dict], bounds: dict | None = None) -> str:
    """The rows (and the FD-mel floor and ceiling) as a markdown table for the README or a model card."""
    head = "| sampler | steps | s/clip | in tune (50 c) | cents MAE | flatness | pitch H (bits) | timbre H (bits) "
    head += "| FD-mel |"
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {SAMPLER_LABELS.get(r['sampler'], r['sampler'])} | {r['steps']} | {r['s_per_clip']:.2f} | "
            f"{r['pitch_in_tune']:.2f} | {r['pitch_cents_mae']:.1f} | {r['flatness']:.4f} | "
            f"{r['pitch_entropy']:.2f} | {r['timbre_entropy']:.2f} | {r['frechet_mel']:.1f} |"
        )
    if bounds is not None:
        lines.append(f"| real vs real (floor) | | | | | | | | {bounds['real_vs_real']:.1f} |")
        lines.append(f"| noise vs real (ceiling) | | | | | | | | {bounds['noise_vs_real']:.1f} |")
    return "\n".join(lines)


def real_rows(reference, n: int, seed: int = 12345) -> tuple[dict, dict]:
    """The measures of fresh real toy notes (n clips) and the FD-mel floor and ceiling, for comparison."""
    from .data import toy_notes

    real, _, _ = toy_notes(n, length=reference.shape[-1], seed=seed)
    row = {"sampler": "real toy notes", "steps": "", "s_per_clip": 0.0, **evaluate_clips(real, reference)}
    return row, reference_bounds(reference, n=n, seed=seed)


# --------------------------------------------------------------------------- measures with the note classifier


@torch.no_grad()
def classifier_outputs(classifier, x, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """phi(x) (B, D) and p(y | x) (B, K) of clips x (B, 1, L) by a loaded note classifier
    (``registry.load_model("notes_classifier")``; ``models.classifier.NoteClassifier``), as float64 NumPy."""
    device = next(classifier.parameters()).device
    feats = torch.cat([classifier.features(x[i : i + batch].to(device)).cpu() for i in range(0, len(x), batch)])
    probs = classifier.head(feats.to(device)).softmax(-1).cpu()
    return feats.double().numpy(), probs.double().numpy()


def quality_measures(x, reference, classifier, n_boot: int = 200, seed: int = 0) -> dict:
    """Every measure of ``metrics.py`` for clips x (B, 1, L) against real clips ``reference`` (B', 1, L):
    FD, KID, IS, mIS, AM, precision, recall on the classifier, and the pYIN pitch measures with the
    classifier's timbre (p(timbre | x) = sum over pitch of p(y | x)). Values are ``metrics.Interval``."""
    feats, probs = classifier_outputs(classifier, x)
    ref_feats, ref_probs = classifier_outputs(classifier, reference)
    timbre = probs.reshape(len(probs), -1, len(TIMBRE_NAMES)).sum(1).argmax(1)  # (B,): class = pitch * 4 + timbre
    f0, voiced = frame_pitch(x)
    return {
        "n": len(feats),
        **classifier_measures(feats, probs, ref_feats, ref_probs, n_boot, seed),
        **pitch_measures(f0, voiced, timbre, len(TIMBRE_NAMES), n_boot, seed),
    }


def quality_bounds(reference, classifier, n: int | None = None, seed: int = 12345, n_boot: int = 200) -> dict:
    """:func:`quality_measures` of fresh real toy notes (``seed``: the floor) and of white noise with the
    reference's RMS (the ceiling) against ``reference``, at ``n`` clips (default len(reference))."""
    from .data import toy_notes

    n = n or len(reference)
    real, _, _ = toy_notes(n, length=reference.shape[-1], seed=seed)
    rms = reference.double().pow(2).mean().sqrt()
    g = torch.Generator().manual_seed(seed)
    noise = (torch.randn((n, 1, reference.shape[-1]), generator=g, dtype=torch.float64) * rms).float()
    return {
        "real_vs_real": quality_measures(real, reference, classifier, n_boot, seed),
        "noise_vs_real": quality_measures(noise, reference, classifier, n_boot, seed),
    }


# --------------------------------------------------------------------------- a melody (chapter 06)


def melody(
    model, record: Record, labels, scale: float = 3.0, overlap: int = 512, sampler: str = "ddpm", steps: int = 50,
    n: int = 1, seed: int = 0, resample: int = 1, progress: bool = False,
) -> torch.Tensor:  # fmt: skip
    """A tune of N notes ``labels``, each continued from the end of the previous one by inpainting.

    Note 0 is an ordinary guided sample. Note i > 0 is a clip of L samples whose first ``overlap`` samples are
    known, the last ``overlap`` samples of note i - 1, and whose rest is generated with the label of note i
    (``samplers.inpaint``: the ``replace_known`` hook, classifier-free guidance of scale ``scale``), so the
    waveform runs on across the join. Each note owns H = L - overlap samples of the tune.

    Args:
        model, record: a class-conditional checkpoint (``registry.load_model``).  labels: N class labels.
        n: tunes drawn in parallel, each from its own noise.  resample: RePaint's U (``samplers.repaint_sample``,
            DDPM only); 1 is plain replacement.
    Returns:
        clips (N, n, 1, L) on the CPU; :func:`concatenate_notes` turns them into the tune.
    """
    device, L = next(model.parameters()).device, record.length
    schedule, g = record.make_schedule(), torch.Generator().manual_seed(seed)
    clips = [generate(model, record, sampler, steps, n, seed, labels=int(labels[0]), scale=scale, progress=progress)]
    mask = torch.zeros(1, 1, L, device=device)
    mask[..., :overlap] = 1  # keep the start: the previous note's tail
    for label in labels[1:]:
        known = torch.zeros(n, 1, L, device=device)
        known[..., :overlap] = clips[-1][..., -overlap:].to(device)
        net = guided_model(model, int(label), scale)
        x = inpaint(net, schedule, known, mask, sampler, steps, resample=resample, prediction=record.prediction,
                    clip_x0=True, generator=g, progress=progress)  # fmt: skip
        clips.append(x.cpu())
    return torch.stack(clips)


def concatenate_notes(clips: torch.Tensor, overlap: int) -> torch.Tensor:
    """The tune from clips (N, B, 1, L): the first H = L - overlap samples of each note, the last one whole.

    For :func:`melody`'s clips this is seamless (note i's first ``overlap`` samples are note i - 1's last);
    for independent notes it is plain concatenation, each note cut where the next begins.
    Returns (B, 1, N H + overlap).
    """
    H = clips.shape[-1] - overlap
    return torch.cat([*(c[..., :H] for c in clips[:-1]), clips[-1]], dim=-1)


def join_click_db(x, n_notes: int, overlap: int, length: int, sr: int = SR_NOTES, cutoff: float = 3000.0,
                  half_window: int = 16) -> np.ndarray:  # fmt: skip
    """Click energy at each join of tunes x (B, 1, N H + overlap) laid out by :func:`concatenate_notes`, in dB.

    High-pass (4th-order Butterworth at ``cutoff``, zero phase) energy in a window of 2 ``half_window`` + 1
    samples; per join i = 1..N-1 its maximum over the join region [i H - w, i H + overlap + w] (the cut of a
    concatenation and the seam of an inpainted note both lie there), over the median of the same energy
    inside the notes (the middle half of each note's own region). Returns (B, N - 1); 0 dB = as inside a note.
    """
    import scipy.ndimage
    import scipy.signal

    H, w = length - overlap, half_window
    sos = scipy.signal.butter(4, cutoff, "highpass", fs=sr, output="sos")
    hp = scipy.signal.sosfiltfilt(sos, to_numpy(x).reshape(len(x), -1), axis=-1)  # (B, samples)
    e = scipy.ndimage.uniform_filter1d(hp**2, 2 * w + 1, axis=-1)  # windowed energy
    m = (H - overlap) // 4  # the middle half of each note's own region, away from the joins
    middles = [e[:, i * H + overlap + m : (i + 1) * H - m] for i in range(n_notes)]
    inside = np.median(np.concatenate(middles, -1), -1)
    joins = np.stack([e[:, i * H - w : i * H + overlap + w + 1].max(-1) for i in range(1, n_notes)], -1)
    return 10 * np.log10(joins / inside[:, None])


def note_pitch_correct(x, notes, n_notes: int, overlap: int, length: int, sr: int = SR_NOTES):
    """Per note of tunes x (B, 1, N H + overlap): is the median pYIN pitch (``metrics.frame_pitch``) of the note's
    own region [i H + overlap, (i + 1) H) the requested scale note ``notes[i]`` (0..7) within 50 cents?

    Returns correct (B, N) bool and the frame-wise f0 (B, frames) in Hz (NaN unvoiced) for a piano roll.
    """
    f0, voiced = frame_pitch(x, sr)
    f0 = np.where(voiced, f0, np.nan)
    H, centres = length - overlap, np.arange(f0.shape[1]) * 128  # frame j is centred on sample 128 j
    correct = np.zeros((len(f0), n_notes), dtype=bool)
    for i in range(n_notes):
        own = (centres >= i * H + overlap) & (centres < (i + 1) * H)
        med = np.array([np.nanmedian(row[own]) if np.isfinite(row[own]).any() else 1.0 for row in f0])
        cents, note = cents_to_scale(med)
        correct[:, i] = (np.abs(cents) <= 50) & (note == notes[i])
    return correct, f0


def join_drop_db(x, n_notes: int, overlap: int, length: int, window: int = 80, half_window: int = 16) -> np.ndarray:
    """The cut at each join of tunes x (B, 1, N H + overlap) laid out by :func:`concatenate_notes`, in dB.

    The largest fall of the level (mean square over ``window`` samples, 10 ms at 8 kHz) from the window before a
    position to the window after it, over the positions of the join region [i H - w, i H + overlap + w]: a note
    cut off while it still rings falls by tens of dB at once; a continued note decays by a fraction of a dB per
    10 ms, and a new note's attack is a rise, not a fall. Returns (B, N - 1), >= 0.
    """
    H, w = length - overlap, half_window
    x2 = to_numpy(x).reshape(len(x), -1).astype(np.float64) ** 2
    cum = np.cumsum(np.pad(x2, ((0, 0), (1, 0))), axis=-1)
    level = (cum[:, window:] - cum[:, :-window]) / window  # level[:, j] = mean of x[j : j + window]^2
    drops = []
    for i in range(1, n_notes):
        j = np.arange(i * H - w, i * H + overlap + w + 1)
        step = 10 * np.log10((level[:, j] + 1e-12) / (level[:, j - window] + 1e-12))  # after over before
        drops.append(-step.min(-1))
    return np.stack(drops, -1)
