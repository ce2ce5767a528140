"""Samplers: turn noise into audio with a trained denoiser (introduced in ``05_sampling``).

Every sampler is one pure function with the same interface: a model callable
``model(x_t, t) -> prediction`` (``t`` (B,) int64 in 1..T; the prediction is eps, x0 or v,
converted by :func:`forward.to_x0_eps`), a :class:`Schedule`, and a shape in; audio out.
The whole clip is denoised in parallel, step by step from noise level t = T down to 0:
diffusion is not autoregressive sample-by-sample generation.

A run visits a decreasing subsequence ``t_0 > t_1 > ... > t_{N-1}`` of 1..T (N network
evaluations) and ends at t = 0, where it returns the model's x0 estimate (DDIM and
DPM-Solver do the same). For a subsequence every coefficient is built from alpha_bar of
the two visited steps (the "respacing" of Nichol & Dhariwal 2021, Sec. 4).

Noise is drawn on the CPU from ``generator`` and moved to the device, so a seed gives the
same samples on every device. ``known`` + ``mask`` turn any sampler into an inpainter
(replacement method); ``x_T`` + ``t_start`` start from a noised recording (SDEdit).

References:
    Ho, Jain, Abbeel (2020), DDPM, Algorithm 2 and Sec. 3.2.
    Song, Meng, Ermon (2021), DDIM, Eqs. (12) and (16).
    Lu et al. (2022), DPM-Solver++, Algorithm 2 (multistep second order, "2M").
    Song et al. (2021), Score-Based Generative Modeling through SDEs, App. I.2 (imputation).
    Lugmayr et al. (2022), RePaint, Algorithm 1 (resampling).
    Meng et al. (2022), SDEdit, Sec. 3.
"""

import math
from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from .forward import q_sample, to_x0_eps, x0_to_eps
from .schedules import Schedule

Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_timesteps(t_start: int, steps: int) -> list[int]:
    """``steps`` evenly spaced integers from ``t_start`` down to 1, all distinct: [t_0, ..., t_{N-1}].

    ``make_timesteps(1000, 1000)`` is every step; ``make_timesteps(1000, 4)`` is [1000, 667, 334, 1].
    """
    if not 1 <= steps <= t_start:
        raise ValueError(f"steps={steps} must be between 1 and t_start={t_start}")
    if steps == 1:
        return [t_start]
    return [round(t_start - i * (t_start - 1) / (steps - 1)) for i in range(steps)]


def _denoise(model: Model, x_t, t: int, schedule: Schedule, prediction: str, clip_x0: bool):
    """(x0_hat, eps_hat) at step ``t`` for the batch x_t (B, 1, L); with ``clip_x0`` x0_hat is clipped to
    [-1, 1] and eps_hat recomputed from it so that the pair stays consistent with x_t (DDIM Eq. 9)."""
    t_batch = torch.full((x_t.shape[0],), t, dtype=torch.int64, device=x_t.device)
    x0_hat, eps_hat = to_x0_eps(model(x_t, t_batch), x_t, t_batch, schedule, prediction)
    if clip_x0:
        x0_hat = x0_hat.clamp(-1.0, 1.0)
        eps_hat = x0_to_eps(x_t, t_batch, x0_hat, schedule)
    return x0_hat, eps_hat


def _randn(shape, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise drawn on the CPU from ``generator``, moved to ``like``'s device and dtype."""
    return torch.randn(shape, generator=generator).to(like.device, like.dtype)


def _impose(x, s: int, known, mask, schedule: Schedule, generator):
    """Replacement step for inpainting: the known region of x_s becomes a draw from q(x_s | known)."""
    if known is None:
        return x
    if s == 0:
        known_s = known
    else:
        s_batch = torch.full((x.shape[0],), s, dtype=torch.int64, device=x.device)
        known_s = q_sample(known, s_batch, _randn(x.shape, generator, x), schedule)  # DDPM Eq. (4)
    return mask * known_s + (1 - mask) * x


class _Run:
    """Shared bookkeeping of one sampling run: start noise, step pairs, trajectory, progress bar."""

    def __init__(self, schedule, shape, steps, t_start, x_T, generator, device, known, mask, keep, progress, name):
        if isinstance(steps, list | tuple):  # an explicit subsequence [t_0, ..., t_{N-1}]
            self.timesteps, self.t_start = [int(t) for t in steps], int(steps[0])
            pairs = zip(self.timesteps, self.timesteps[1:], strict=False)
            if not all(a > b for a, b in pairs) or self.timesteps[-1] < 1 or self.t_start > schedule.T:
                raise ValueError(f"timesteps {list(steps)} must decrease strictly within 1..T={schedule.T}")
        else:
            self.t_start = schedule.T if t_start is None else int(t_start)
            self.timesteps = make_timesteps(self.t_start, steps or self.t_start)
        if generator is None:  # derive one from the global seed, so seed_everything makes runs reproducible
            generator = torch.Generator().manual_seed(int(torch.randint(2**62, (1,))))
        self.generator = generator
        if device is None:
            device = x_T.device if x_T is not None else known.device if known is not None else "cpu"
        if x_T is None:
            x_T = torch.randn(tuple(shape), generator=generator)  # x_{t_0} ~ N(0, I)
        self.x = x_T.to(device, torch.float32)
        if (known is None) != (mask is None):
            raise ValueError("inpainting needs both `known` (B, 1, L) audio and `mask` (1 = keep), or neither")
        self.known = None if known is None else known.to(device, torch.float32)
        self.mask = None if mask is None else mask.to(device, torch.float32)
        self.keep, self.progress, self.name = keep, progress, name
        self.trajectory = {"t": [self.t_start], "x_t": [self.x.cpu()], "x0_hat": []} if keep else None

    def pairs(self):
        """(t, s) for each step t -> s, the last one ending at s = 0."""
        steps = list(zip(self.timesteps, self.timesteps[1:] + [0], strict=True))
        return tqdm(steps, desc=self.name, disable=not self.progress, leave=False)

    def record(self, s: int, x, x0_hat):
        if self.keep:
            self.trajectory["t"].append(s)
            self.trajectory["x_t"].append(x.cpu())
            self.trajectory["x0_hat"].append(x0_hat.cpu())

    def result(self, x):
        """x, or (x, trajectory) with trajectory = {"t": (N+1,), "x_t": (N+1, B, 1, L), "x0_hat": (N, B, 1, L)}."""
        if not self.keep:
            return x
        tr = self.trajectory
        return x, {"t": torch.tensor(tr["t"]), "x_t": torch.stack(tr["x_t"]), "x0_hat": torch.stack(tr["x0_hat"])}


@torch.no_grad()
def ddpm_sample(
    model: Model, schedule: Schedule, shape, steps: int | None = None, *, variance: str = "beta_tilde",
    resample: int = 1, prediction: str = "eps", generator=None, x_T=None, t_start=None, known=None, mask=None,
    clip_x0: bool = False, device=None, progress: bool = True, return_trajectory: bool = False,
):  # fmt: skip
    """Ancestral sampling, DDPM Algorithm 2, on the subsequence of ``steps`` steps.

    x_s = mu_tilde(x_t, x0_hat) + sqrt(var) z, with mu_tilde and beta_tilde of DDPM Eq. (7) for the
    pair t -> s and var = beta_tilde (``variance="beta_tilde"``) or beta (``"beta"``), DDPM Sec. 3.2;
    here beta = 1 - alpha_bar_t / alpha_bar_s, which is beta_t itself when s = t - 1.

    Args:
        model: callable (x_t (B, 1, L), t (B,) int64) -> (B, 1, L) prediction of ``prediction``.
        shape: (B, 1, L) of the samples.  steps: number of network evaluations N (default: t_start), spaced
            evenly by :func:`make_timesteps`, or an explicit decreasing list of steps [t_0, ..., t_{N-1}].
        resample: RePaint's U (Lugmayr et al. 2022): with ``known``, redo each step U times,
            re-noising x_s -> x_t with q(x_t | x_s) in between, to harmonise the two regions.
        generator: CPU torch.Generator for every random draw.  x_T: (B, 1, L) start instead of noise.
        t_start: the step x_T belongs to (default T; SDEdit uses t0).  known, mask: (B, 1, L) inpainting.
        clip_x0: clip x0_hat to [-1, 1] at every step.  return_trajectory: also return the trajectory.
    Returns:
        (B, 1, L) samples, and with ``return_trajectory`` a dict of the visited t, x_t and x0_hat.
    """
    if variance not in ("beta", "beta_tilde"):
        raise ValueError(f"variance must be 'beta' or 'beta_tilde', not {variance!r}")
    run = _Run(
        schedule, shape, steps, t_start, x_T, generator, device, known, mask, return_trajectory, progress, "DDPM"
    )
    x, g = run.x, run.generator
    for t, s in run.pairs():
        ab_t, ab_s = schedule.alpha_bar[t].item(), schedule.alpha_bar[s].item()
        beta = 1 - ab_t / ab_s  # respaced beta_t (Nichol & Dhariwal 2021, Eq. 19)
        beta_tilde = (1 - ab_s) / (1 - ab_t) * beta  # DDPM Eq. (7)
        var = beta_tilde if variance == "beta_tilde" else beta
        for u in range(resample if known is not None and s > 0 else 1):
            # Predict the clean clip, then step to the posterior q(x_s | x_t, x0_hat).
            x0_hat, _ = _denoise(model, x, t, schedule, prediction, clip_x0)
            mu_tilde = math.sqrt(ab_s) * beta / (1 - ab_t) * x0_hat + math.sqrt(1 - beta) * (1 - ab_s) / (1 - ab_t) * x
            x_s = mu_tilde + math.sqrt(var) * _randn(x.shape, g, x) if s > 0 else mu_tilde
            x_s = _impose(x_s, s, run.known, run.mask, schedule, g)
            if u < resample - 1:  # RePaint: jump back up to t with q(x_t | x_s)
                x = math.sqrt(1 - beta) * x_s + math.sqrt(beta) * _randn(x.shape, g, x)
        x = x_s
        run.record(s, x, x0_hat)
    return run.result(x)


@torch.no_grad()
def ddim_sample(
    model: Model, schedule: Schedule, shape, steps: int | None = None, *, eta: float = 0.0, prediction: str = "eps",
    generator=None, x_T=None, t_start=None, known=None, mask=None, clip_x0: bool = False, device=None,
    progress: bool = True, return_trajectory: bool = False,
):  # fmt: skip
    """DDIM, Song et al. (2021) Eq. (12) with sigma_t(eta) of Eq. (16), on the subsequence of ``steps`` steps.

    x_s = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s - sigma_t^2) eps_hat + sigma_t z,
    sigma_t = eta sqrt((1 - alpha_bar_s) / (1 - alpha_bar_t)) sqrt(1 - alpha_bar_t / alpha_bar_s).

    eta = 0 is deterministic (an ODE solver: the same x_T gives the same clip); eta = 1 is DDPM with
    the posterior variance beta_tilde. Arguments and returns as :func:`ddpm_sample`.
    """
    run = _Run(
        schedule, shape, steps, t_start, x_T, generator, device, known, mask, return_trajectory, progress, "DDIM"
    )
    x, g = run.x, run.generator
    for t, s in run.pairs():
        ab_t, ab_s = schedule.alpha_bar[t].item(), schedule.alpha_bar[s].item()
        x0_hat, eps_hat = _denoise(model, x, t, schedule, prediction, clip_x0)
        sigma_t = eta * math.sqrt((1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s))  # Eq. (16)
        x = math.sqrt(ab_s) * x0_hat + math.sqrt(max(1 - ab_s - sigma_t**2, 0.0)) * eps_hat  # Eq. (12)
        if sigma_t > 0:
            x = x + sigma_t * _randn(x.shape, g, x)
        x = _impose(x, s, run.known, run.mask, schedule, g)
        run.record(s, x, x0_hat)
    return run.result(x)


@torch.no_grad()
def dpm_solver_pp_sample(
    model: Model, schedule: Schedule, shape, steps: int | None = 20, *, prediction: str = "eps", generator=None,
    x_T=None, t_start=None, known=None, mask=None, clip_x0: bool = False, device=None, progress: bool = True,
    return_trajectory: bool = False,
):  # fmt: skip
    """DPM-Solver++(2M), Lu et al. (2022) Algorithm 2: a second-order multistep ODE solver in log-SNR.

    With alpha_t = sqrt(alpha_bar_t), lambda_t = log(alpha_t / sigma_t) and h_i = lambda_{t_i} - lambda_{t_{i-1}}:
        x_{t_i} = (sigma_{t_i} / sigma_{t_{i-1}}) x_{t_{i-1}} - alpha_{t_i} (e^{-h_i} - 1) D_i,
        D_i = (1 + 1 / (2 r_i)) x0_hat_{i-1} - 1 / (2 r_i) x0_hat_{i-2},  r_i = h_{i-1} / h_i,
    with D = x0_hat_{i-1} (first order, i.e. DDIM) at the first step and at the last step into t_{N-1}
    ("lower_order_final" in the authors' code: with few steps the log-SNR gap to t = 1 is large and
    extrapolating x0_hat across it overshoots, e.g. 30% too loud at 15 steps). The final step to t = 0
    (sigma = 0, lambda = inf) returns the last x0_hat, as the paper's code does. Deterministic;
    reaches good quality in 10-20 evaluations. Arguments and returns as :func:`ddpm_sample`.
    """
    run = _Run(
        schedule, shape, steps, t_start, x_T, generator, device, known, mask, return_trajectory, progress, "DPM++"
    )
    x, g = run.x, run.generator
    alpha, sigma = schedule.alpha_bar.sqrt(), schedule.sigma
    lam = torch.log(alpha) - torch.log(sigma)  # lambda_t = log(alpha_t / sigma_t), float64
    x0_prev, h_prev = None, None
    for t, s in run.pairs():
        x0_hat, _ = _denoise(model, x, t, schedule, prediction, clip_x0)
        if s == 0:
            x = x0_hat  # sigma_s = 0: the data prediction is the answer
        else:
            h = (lam[s] - lam[t]).item()
            if x0_prev is None or s == run.timesteps[-1]:  # first order: first and last step
                D = x0_hat
            else:
                r = h_prev / h
                D = (1 + 1 / (2 * r)) * x0_hat - 1 / (2 * r) * x0_prev
            x = (sigma[s] / sigma[t]).item() * x - alpha[s].item() * math.expm1(-h) * D
            x0_prev, h_prev = x0_hat, h
        x = _impose(x, s, run.known, run.mask, schedule, g)
        run.record(s, x, x0_hat)
    return run.result(x)


@torch.no_grad()
def ddim_invert(
    model: Model, schedule: Schedule, x0: torch.Tensor, steps: int | None = None, *, prediction: str = "eps",
    progress: bool = True,
) -> torch.Tensor:  # fmt: skip
    """Run DDIM's ODE (eta = 0) backwards, from audio x0 (B, 1, L) up to x_T: the noise that DDIM maps to x0.

    The same update as :func:`ddim_sample` with the roles of t and s swapped, on the reversed
    subsequence 0 -> t_{N-1} -> ... -> t_0 = T; eps_hat at each level is evaluated where the step starts
    (at t_{N-1} = 1 for the first step, as x0 cannot be fed at t = 0). Exact only in the limit of small
    steps, so ``ddim_sample(..., x_T=ddim_invert(...))`` returns x0 approximately (Song et al. 2021, Sec. 4.3).
    """
    timesteps = make_timesteps(schedule.T, steps or schedule.T)[::-1]  # [1, ..., T]
    x = x0.float()
    for s, t in tqdm(list(zip([0, *timesteps[:-1]], timesteps, strict=True)), disable=not progress, leave=False):
        ab_s, ab_t = schedule.alpha_bar[s].item(), schedule.alpha_bar[t].item()
        _, eps_hat = _denoise(model, x, max(s, timesteps[0]), schedule, prediction, clip_x0=False)
        x0_hat = (x - math.sqrt(1 - ab_s) * eps_hat) / math.sqrt(ab_s)  # DDIM Eq. (9) at the current level
        x = math.sqrt(ab_t) * x0_hat + math.sqrt(1 - ab_t) * eps_hat  # Eq. (12) with sigma = 0, towards noise
    return x


SAMPLERS = {"ddpm": ddpm_sample, "ddim": ddim_sample, "dpm": dpm_solver_pp_sample}


def sample(model: Model, schedule: Schedule, shape, sampler: str = "dpm", steps: int | None = 20, **kwargs):
    """Dispatch by name: ``sampler`` in {"ddpm", "ddim", "dpm"}; ``kwargs`` go to that sampler."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
    return SAMPLERS[sampler](model, schedule, shape, steps, **kwargs)


def inpaint(model: Model, schedule: Schedule, known, mask, sampler: str = "ddpm", steps=None, **kwargs):
    """Regenerate the region where ``mask == 0`` so it fits the audio ``known`` where ``mask == 1``.

    The replacement method (Song et al. 2021 SDE paper, App. I.2; RePaint, Lugmayr et al. 2022):
    after every step the known region of x_s is overwritten by a fresh draw from q(x_s | known),
    and at s = 0 by ``known`` itself, so the known region is kept exactly.

    Args:
        known: (B, 1, L) audio (its masked-out part is ignored).  mask: (B or 1, 1, L), 1 = keep.
    Returns:
        (B, 1, L), or (B, 1, L) and the trajectory with ``return_trajectory=True``.
    """
    return sample(model, schedule, known.shape, sampler, steps, known=known, mask=mask, **kwargs)


def sdedit(model: Model, schedule: Schedule, x0, t0: int, sampler: str = "ddim", steps=None, generator=None, **kwargs):
    """SDEdit (Meng et al. 2022): noise the recording ``x0`` (B, 1, L) to level ``t0`` with q(x_t0 | x0),
    then run the reverse process from t0 to 0. Small t0 keeps the recording, t0 = T ignores it.

    ``steps`` counts network evaluations between t0 and 0 (default: t0). Returns (B, 1, L).
    """
    if generator is None:
        generator = torch.Generator().manual_seed(int(torch.randint(2**62, (1,))))
    t = torch.full((x0.shape[0],), int(t0), dtype=torch.int64)
    x_t0 = q_sample(x0.cpu().float(), t, torch.randn(x0.shape, generator=generator), schedule).to(x0.device)
    return sample(model, schedule, x0.shape, sampler, steps, x_T=x_t0, t_start=t0, generator=generator, **kwargs)
