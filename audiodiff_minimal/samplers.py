"""Samplers: turn noise into audio with a trained denoiser (introduced in ``05_sampling``).

Two pieces, as in k-diffusion and EDM. A *denoiser* wraps the network: it converts the net's output
(eps, x0 or v) into the pair (x0_hat, eps_hat) and optionally clips x0_hat. A *sampler* is a pure
function of the denoiser, the start noise x = x_{t_0} (drawn by the caller) and the decreasing steps
t_0 > t_1 > ... > t_{N-1} >= 1 (N network evaluations); it ends at t = 0 and returns (B, 1, L) audio::

    denoise = denoiser(net, schedule, prediction="v", clip_x0=True)
    x = torch.randn(8, 1, 16384, generator=g).to(device)              # x_{t_0} ~ N(0, I)
    x0 = dpm_solver_pp_sample(denoise, x, make_timesteps(schedule.T, 20), schedule)

The whole clip is denoised in parallel, step by step in noise level: diffusion is not autoregressive.
On a subsequence every coefficient is built from alpha_bar of the two visited steps t -> s (the
"respacing" of Nichol & Dhariwal 2021, Sec. 4). After each step ``hook(x_s, s) -> x_s`` may edit the
state (inpainting: :func:`replace_known`) and ``callback(i, t, s, x_s, x0_hat)`` may watch it
(:class:`Trajectory`, :func:`progress`). Noise is drawn on the CPU from ``generator`` (the global RNG
when None) and moved to x's device and dtype, so a seed gives the same samples on every device.

References:
    Ho, Jain, Abbeel (2020), DDPM, Algorithm 2, Eqs. (4), (7) and Sec. 3.2.
    Nichol & Dhariwal (2021), Improved DDPM, Eq. (19) (respacing).
    Song, Meng, Ermon (2021), DDIM, Eqs. (9), (12) and (16).
    Lu et al. (2022), DPM-Solver++, Algorithm 2 (multistep second order, "2M").
    Song et al. (2021), Score-Based Generative Modeling through SDEs, App. I.2 (imputation).
    Lugmayr et al. (2022), RePaint, Algorithm 1.  Meng et al. (2022), SDEdit, Sec. 3.
"""

import inspect
import math
from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from .forward import PREDICTIONS, q_sample, to_x0_eps, x0_to_eps
from .schedules import Schedule

Denoise = Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


def make_timesteps(t_start: int, steps: int) -> list[int]:
    """``steps`` evenly spaced integers from ``t_start`` down to 1, all distinct: [t_0, ..., t_{N-1}].

    ``make_timesteps(1000, 1000)`` is every step; ``make_timesteps(1000, 4)`` is [1000, 667, 334, 1].
    """
    if not 1 <= steps <= t_start:
        raise ValueError(f"steps={steps} must be between 1 and t_start={t_start}")
    if steps == 1:
        return [t_start]
    return [round(t_start - i * (t_start - 1) / (steps - 1)) for i in range(steps)]


def _step_pairs(timesteps, schedule: Schedule) -> list[tuple[int, int]]:
    """[(t_0, t_1), ..., (t_{N-1}, 0)] after checking that ``timesteps`` decrease strictly within 1..T."""
    if isinstance(timesteps, int | float):
        raise ValueError(f"timesteps must be a decreasing list such as make_timesteps({schedule.T}, {timesteps}), "
                         f"not the number {timesteps}")  # fmt: skip
    ts = [int(t) for t in timesteps]
    ok = ts and all(a == t for a, t in zip(ts, timesteps, strict=True)) and ts[0] <= schedule.T and ts[-1] >= 1
    if not ok or any(a <= b for a, b in zip(ts, ts[1:], strict=False)):
        raise ValueError(f"timesteps {list(timesteps)} must be integers decreasing strictly within 1..T={schedule.T}")
    return list(zip(ts, ts[1:] + [0], strict=True))


def denoiser(net, schedule: Schedule, prediction: str = "eps", clip_x0: bool = False) -> Denoise:
    """Wrap a network as ``denoise(x_t, t) -> (x0_hat, eps_hat)``, the one thing every sampler calls.

    Args:
        net: callable (x_t (B, 1, L), t (B,) int64) -> (B, 1, L) prediction of ``prediction`` ("eps", "x0", "v"),
            e.g. a U-Net or ``guidance.guided_model(...)``.
        clip_x0: clip x0_hat to [-1, 1] (audio lives there) and recompute eps_hat from it, so that the pair stays
            consistent with x_t (DDIM Eq. 9).
    Returns:
        ``denoise(x_t, t)``: x_t (B, 1, L), t an int in 1..T -> (x0_hat, eps_hat), each (B, 1, L).
    """
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction {prediction!r}; choose one of {PREDICTIONS}")

    def denoise(x_t: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        t_batch = torch.full((x_t.shape[0],), int(t), dtype=torch.int64, device=x_t.device)  # (B,)
        x0_hat, eps_hat = to_x0_eps(net(x_t, t_batch), x_t, t_batch, schedule, prediction)
        if clip_x0:
            x0_hat = x0_hat.clamp(-1.0, 1.0)
            eps_hat = x0_to_eps(x_t, t_batch, x0_hat, schedule)  # DDIM Eq. (9) solved for eps
        return x0_hat, eps_hat

    return denoise


def _randn(shape, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise drawn on the CPU from ``generator``, moved to ``like``'s device and dtype."""
    return torch.randn(shape, generator=generator).to(like.device, like.dtype)


def replace_known(known: torch.Tensor, mask: torch.Tensor, schedule: Schedule, generator=None):
    """Inpainting by replacement (Song et al. 2021, SDE paper, App. I.2) as a sampler ``hook(x_s, s) -> x_s``.

    After each step the known region of x_s becomes a fresh draw from q(x_s | known), DDPM Eq. (4), and at s = 0
    ``known`` itself, so the known region is kept exactly.

    Args:
        known: (B, 1, L) audio (its masked-out part is ignored).  mask: (B or 1, 1, L), 1 = keep, 0 = regenerate.
        generator: CPU generator for the draws of q(x_s | known).
    """
    if mask.dim() != known.dim() or any(m not in (1, k) for m, k in zip(mask.shape, known.shape, strict=True)):
        raise ValueError(f"mask {tuple(mask.shape)} must broadcast to the known audio {tuple(known.shape)}")

    def replace(x_s: torch.Tensor, s: int) -> torch.Tensor:
        known_s, m = known.to(x_s), mask.to(x_s)
        if s > 0:
            s_batch = torch.full((x_s.shape[0],), s, dtype=torch.int64, device=x_s.device)
            known_s = q_sample(known_s, s_batch, _randn(x_s.shape, generator, x_s), schedule)  # DDPM Eq. (4)
        return m * known_s + (1 - m) * x_s

    return replace


class Trajectory:
    """A callback that records a run; ``traj[key]`` stacks it on the CPU.

    ``traj = Trajectory(x)`` with the start noise x, then ``sampler(..., callback=traj)``. Keys: "t" (N+1,)
    [t_0, ..., t_{N-1}, 0]; "x_t" (N+1, B, 1, L), x at each of those levels; "x0_hat" (N, B, 1, L), the estimate
    made at t_i from x_{t_i}.
    """

    def __init__(self, x_start: torch.Tensor):
        self.t, self.x_t, self.x0_hat = [], [x_start.detach().cpu()], []

    def __call__(self, i: int, t: int, s: int, x_s: torch.Tensor, x0_hat: torch.Tensor) -> None:
        self.t += [t, s] if not self.t else [s]
        self.x_t.append(x_s.detach().cpu())
        self.x0_hat.append(x0_hat.detach().cpu())

    def __getitem__(self, key: str) -> torch.Tensor:
        if key == "t":
            return torch.tensor(self.t)
        return torch.stack({"x_t": self.x_t, "x0_hat": self.x0_hat}[key])


def progress(n: int, desc: str | None = None):
    """A callback that advances a tqdm.auto progress bar of ``n`` steps and closes it after the last."""
    bar = tqdm(total=n, desc=desc, leave=False)

    def advance(i: int, t: int, s: int, x_s, x0_hat) -> None:
        bar.update(1)
        if i == n - 1:
            bar.close()

    return advance


@torch.no_grad()
def ddpm_sample(denoise: Denoise, x, timesteps, schedule: Schedule, variance="beta_tilde", generator=None,
                hook=None, callback=None):  # fmt: skip
    """Ancestral sampling, DDPM Algorithm 2, on the subsequence ``timesteps`` (respaced).

    Each step t -> s draws x_s from the posterior q(x_s | x_t, x0_hat) of Eq. (7) with the step's own beta,
    beta = 1 - alpha_bar_t / alpha_bar_s (beta_t itself when s = t - 1), and variance beta_tilde or beta (Sec. 3.2).

    Args:
        denoise: from :func:`denoiser`.  x: (B, 1, L) start noise x_{t_0}.  timesteps: [t_0 > ... > t_{N-1} >= 1].
        variance: "beta_tilde" (posterior) or "beta".  generator: CPU generator for z.
        hook: ``hook(x_s, s) -> x_s`` after each step.  callback: ``callback(i, t, s, x_s, x0_hat)`` after each step.
    Returns:
        (B, 1, L) x_0.
    """
    if variance not in ("beta", "beta_tilde"):
        raise ValueError(f"variance must be 'beta' or 'beta_tilde', not {variance!r}")
    for i, (t, s) in enumerate(_step_pairs(timesteps, schedule)):
        ab_t, ab_s = schedule.alpha_bar[t].item(), schedule.alpha_bar[s].item()
        beta = 1 - ab_t / ab_s  # respaced beta_t, Nichol & Dhariwal (2021) Eq. (19)
        beta_tilde = (1 - ab_s) / (1 - ab_t) * beta  # Eq. (7)
        var = beta_tilde if variance == "beta_tilde" else beta  # sigma_t^2, Sec. 3.2
        x0_hat, _ = denoise(x, t)  # line 4's eps_theta(x_t, t), as the clean clip it implies (Eq. 15)
        # Line 4 written with x0_hat: the posterior mean mu_tilde of Eq. (7), plus sigma_t z (z = 0 at the end, line 3).
        mu_tilde = math.sqrt(ab_s) * beta / (1 - ab_t) * x0_hat + math.sqrt(1 - beta) * (1 - ab_s) / (1 - ab_t) * x
        x = mu_tilde + math.sqrt(var) * _randn(x.shape, generator, x) if s > 0 else mu_tilde
        x = hook(x, s) if hook else x
        if callback:
            callback(i, t, s, x, x0_hat)
    return x


@torch.no_grad()
def ddim_sample(denoise: Denoise, x, timesteps, schedule: Schedule, eta: float = 0.0, generator=None, hook=None,
                callback=None):  # fmt: skip
    """DDIM, Song et al. (2021) Eq. (12) with sigma_t(eta) of Eq. (16), on the subsequence ``timesteps``.

    x_s = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s - sigma_t^2) eps_hat + sigma_t z,
    sigma_t = eta sqrt((1 - alpha_bar_s) / (1 - alpha_bar_t)) sqrt(1 - alpha_bar_t / alpha_bar_s).
    eta = 0 is deterministic (an ODE solver); eta = 1 is DDPM with variance beta_tilde.
    Arguments and return as :func:`ddpm_sample`.
    """
    for i, (t, s) in enumerate(_step_pairs(timesteps, schedule)):
        ab_t, ab_s = schedule.alpha_bar[t].item(), schedule.alpha_bar[s].item()
        x0_hat, eps_hat = denoise(x, t)  # "predicted x_0" of Eq. (9) and its noise
        sigma_t = eta * math.sqrt((1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s))  # Eq. (16)
        # Eq. (12): predicted x_0, then the direction pointing to x_t, then random noise.
        x = math.sqrt(ab_s) * x0_hat + math.sqrt(max(1 - ab_s - sigma_t**2, 0.0)) * eps_hat
        if sigma_t > 0:
            x = x + sigma_t * _randn(x.shape, generator, x)
        x = hook(x, s) if hook else x
        if callback:
            callback(i, t, s, x, x0_hat)
    return x


@torch.no_grad()
def dpm_solver_pp_sample(denoise: Denoise, x, timesteps, schedule: Schedule, hook=None, callback=None):
    """DPM-Solver++(2M), Lu et al. (2022) Algorithm 2: a second-order multistep ODE solver in log-SNR.

    With alpha_t = sqrt(alpha_bar_t), lambda_t = log(alpha_t / sigma_t) and h_i = lambda_{t_i} - lambda_{t_{i-1}}:
        x_{t_i} = (sigma_{t_i} / sigma_{t_{i-1}}) x_{t_{i-1}} - alpha_{t_i} (e^{-h_i} - 1) D_i,
        D_i = (1 + 1 / (2 r_i)) x0_hat_{i-1} - 1 / (2 r_i) x0_hat_{i-2},  r_i = h_{i-1} / h_i,
    with D = x0_hat_{i-1} (first order, i.e. DDIM) at the first step and at the last step into t_{N-1}
    ("lower_order_final" in the authors' code: with few steps the log-SNR gap to t = 1 is large and
    extrapolating x0_hat across it overshoots, e.g. 30% too loud at 15 steps). The final step to t = 0
    (sigma = 0, lambda = inf) returns the last x0_hat. Deterministic. Arguments as :func:`ddpm_sample`.
    """
    alpha, sigma = schedule.alpha_bar.sqrt(), schedule.sigma
    lam = torch.log(alpha) - torch.log(sigma)  # lambda_t, float64
    pairs = _step_pairs(timesteps, schedule)
    x0_prev, h_prev = None, None
    for i, (t, s) in enumerate(pairs):
        x0_hat, _ = denoise(x, t)  # the data prediction x_theta(x_{t_{i-1}}, t_{i-1})
        if s == 0:
            x = x0_hat  # sigma_s = 0: the data prediction is the answer
        else:
            h = (lam[s] - lam[t]).item()  # h_i
            if x0_prev is None or s == pairs[-1][0]:  # first order: the first step, and the last into t_{N-1}
                D = x0_hat
            else:
                r = h_prev / h  # r_i = h_{i-1} / h_i
                D = (1 + 1 / (2 * r)) * x0_hat - 1 / (2 * r) * x0_prev  # D_i
            x = (sigma[s] / sigma[t]).item() * x - alpha[s].item() * math.expm1(-h) * D  # the update of x_{t_i}
            x0_prev, h_prev = x0_hat, h
        x = hook(x, s) if hook else x
        if callback:
            callback(i, t, s, x, x0_hat)
    return x


@torch.no_grad()
def repaint_sample(denoise: Denoise, x, timesteps, schedule: Schedule, known, mask, resample: int = 10,
                   generator=None, callback=None):  # fmt: skip
    """RePaint, Lugmayr et al. (2022) Algorithm 1, with resampling of jump length 1, on ``timesteps``.

    Each DDPM step t -> s (variance beta_tilde) is done ``resample`` = U times: draw the unknown region from
    p(x_s | x_t), the known one from q(x_s | known) (:func:`replace_known`), join them by the mask, and, before the
    next pass, jump back up with q(x_t | x_s) = N(sqrt(1 - beta) x_s, beta I). The paper's jump schedule (jump
    length j = 10) is not implemented. U = 1 is plain replacement inpainting with :func:`ddpm_sample`.

    Args:
        known: (B, 1, L) audio.  mask: (B or 1, 1, L), 1 = keep.  resample: U >= 1.
        Others as :func:`ddpm_sample`.
    Returns:
        (B, 1, L) x_0, equal to ``known`` where ``mask == 1``.
    """
    if not (isinstance(resample, int) and resample >= 1):
        raise ValueError(f"resample must be an integer >= 1, not {resample!r}")
    replace = replace_known(known, mask, schedule, generator)
    for i, (t, s) in enumerate(_step_pairs(timesteps, schedule)):
        ab_t, ab_s = schedule.alpha_bar[t].item(), schedule.alpha_bar[s].item()
        beta = 1 - ab_t / ab_s  # respaced beta_t (Nichol & Dhariwal 2021, Eq. 19)
        beta_tilde = (1 - ab_s) / (1 - ab_t) * beta  # DDPM Eq. (7)
        passes = resample if s > 0 else 1
        for u in range(passes):  # line 3: for u = 1, ..., U
            x0_hat, _ = denoise(x, t)
            mu_tilde = math.sqrt(ab_s) * beta / (1 - ab_t) * x0_hat + math.sqrt(1 - beta) * (1 - ab_s) / (1 - ab_t) * x
            x_s = mu_tilde + math.sqrt(beta_tilde) * _randn(x.shape, generator, x) if s > 0 else mu_tilde  # line 7
            x_s = replace(x_s, s)  # lines 4-5 (known region) and 8 (join by the mask)
            if u < passes - 1:  # lines 9-10: back up to t with q(x_t | x_s)
                x = math.sqrt(1 - beta) * x_s + math.sqrt(beta) * _randn(x.shape, generator, x)
        x = x_s
        if callback:
            callback(i, t, s, x, x0_hat)
    return x


@torch.no_grad()
def ddim_invert(denoise: Denoise, x0, timesteps, schedule: Schedule, callback=None):
    """Run DDIM's ODE (eta = 0) backwards, from audio x0 (B, 1, L) up to x_{t_0}: the noise DDIM maps to x0.

    The update of :func:`ddim_sample` with the roles of t and s swapped, on 0 -> t_{N-1} -> ... -> t_0; eps_hat is
    evaluated where each step starts (at t_{N-1} for the first step, as x0 cannot be fed at t = 0). Exact only in
    the limit of small steps, so ``ddim_sample(denoise, ddim_invert(denoise, x0, ts, sch), ts, sch)`` returns x0
    approximately (Song et al. 2021, Sec. 4.3). Use a denoiser without ``clip_x0``.
    ``callback(i, s, t, x_t, x0_hat)`` is called after each step s -> t upwards. Returns (B, 1, L) x_{t_0}.
    """
    pairs = _step_pairs(timesteps, schedule)[::-1]  # [(t_{N-1}, 0), ..., (t_0, t_1)]
    x = x0
    for i, (t, s) in enumerate(pairs):
        ab_s, ab_t = schedule.alpha_bar[s].item(), schedule.alpha_bar[t].item()
        _, eps_hat = denoise(x, max(s, pairs[0][0]))
        x0_hat = (x - math.sqrt(1 - ab_s) * eps_hat) / math.sqrt(ab_s)  # DDIM Eq. (9) at the current level s
        x = math.sqrt(ab_t) * x0_hat + math.sqrt(1 - ab_t) * eps_hat  # Eq. (12) with sigma = 0, towards noise
        if callback:
            callback(i, s, t, x, x0_hat)
    return x


SAMPLERS = {"ddpm": ddpm_sample, "ddim": ddim_sample, "dpm": dpm_solver_pp_sample}
_progress = progress  # sample()'s argument `progress` shadows the function


def _run(sampler: str, denoise: Denoise, x, timesteps, schedule: Schedule, generator=None, **kwargs):
    """Call ``SAMPLERS[sampler]``, passing ``generator`` only to the samplers that draw noise."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
    fn = SAMPLERS[sampler]
    if "generator" in inspect.signature(fn).parameters:
        kwargs["generator"] = generator
    return fn(denoise, x, timesteps, schedule, **kwargs)


def sample(net, schedule: Schedule, x, sampler: str = "dpm", steps=20, prediction: str = "eps",
           clip_x0: bool = False, generator=None, progress: bool = True, **kwargs):  # fmt: skip
    """Sample with ``net`` from the start noise x (B, 1, L): the convenience for ``generate`` and the notebooks.

    ``steps`` is the number of network evaluations (spaced by :func:`make_timesteps` from T) or an explicit
    decreasing list of steps; ``kwargs`` (eta, variance, hook, callback) go to the sampler. Returns (B, 1, L).
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
    timesteps = make_timesteps(schedule.T, steps) if isinstance(steps, int) else list(steps)
    if progress:
        bar, callback = _progress(len(timesteps), sampler), kwargs.pop("callback", None)
        kwargs["callback"] = bar if callback is None else lambda *a: (callback(*a), bar(*a))
    denoise = denoiser(net, schedule, prediction, clip_x0)
    return _run(sampler, denoise, x, timesteps, schedule, generator, **kwargs)


def inpaint(
    net, schedule: Schedule, known, mask, sampler: str = "ddpm", steps=100, *, resample: int = 1,
    prediction: str = "eps", clip_x0: bool = False, generator=None, progress: bool = True, **kwargs,
):  # fmt: skip
    """Regenerate the region where ``mask == 0`` so that it fits the audio ``known`` where ``mask == 1``.

    Draws the start noise from ``generator`` and runs ``sampler`` with the :func:`replace_known` hook, or with
    ``resample`` = U > 1 the RePaint sampler (:func:`repaint_sample`, DDPM only).

    Args:
        known: (B, 1, L) audio (its masked-out part is ignored).  mask: (B or 1, 1, L), 1 = keep.
        Others as :func:`sample`.
    Returns:
        (B, 1, L), equal to ``known`` where ``mask == 1``.
    """
    if resample != 1 and sampler != "ddpm":
        raise ValueError(f"resample={resample} (RePaint) works with sampler='ddpm' only, not {sampler!r}")
    x = torch.randn(known.shape, generator=generator).to(known.device)  # x_{t_0} ~ N(0, I)
    if resample == 1:
        hook = replace_known(known, mask, schedule, generator)
        return sample(net, schedule, x, sampler, steps, prediction, clip_x0, generator, progress, hook=hook, **kwargs)
    timesteps = make_timesteps(schedule.T, steps) if isinstance(steps, int) else list(steps)
    callback = _progress(len(timesteps), "RePaint") if progress else None
    denoise = denoiser(net, schedule, prediction, clip_x0)
    return repaint_sample(denoise, x, timesteps, schedule, known, mask, resample, generator, callback)


def sdedit(denoise: Denoise, y, t0: int, steps, schedule: Schedule, sampler: str = "ddim", generator=None,
           noise_std: float = 0.0):  # fmt: skip
    """SDEdit (Meng et al. 2022, Sec. 3): noise the recording y (B, 1, L) to level t0, run ``sampler`` down to 0.

    Small t0 keeps the recording, t0 = T draws a new clip. With ``noise_std = 0`` (SDEdit proper) the start is a
    draw of q(x_t0 | y), DDPM Eq. (4). With ``noise_std = s > 0`` y is taken to be a clean clip plus white Gaussian
    noise of standard deviation s: sqrt(alpha_bar_t0) y already holds noise of variance alpha_bar_t0 s^2, and only
    the missing sigma_t0^2 - alpha_bar_t0 s^2 is added (none when SNR_t0 = 1 / s^2). As a denoiser it thus removes
    white Gaussian noise of a known level only: not hum, clicks, reverberation, coloured noise or an unknown level.

    Args:
        denoise: from :func:`denoiser`.  y: (B, 1, L).  t0: the start level in 1..T.
        steps: network evaluations from t0 (spaced by ``make_timesteps(t0, steps)``) or a decreasing list from t0.
        sampler: "ddpm", "ddim" or "dpm".  generator: CPU generator for every draw.  noise_std: s, see above.
    Returns:
        (B, 1, L) the edited clip.
    """
    timesteps = make_timesteps(t0, steps) if isinstance(steps, int) else list(steps)
    if timesteps[0] != t0:
        raise ValueError(f"timesteps {timesteps} must start at t0={t0}")
    snr = schedule.snr[t0].item()
    if snr * noise_std**2 > 1:
        first = int((schedule.snr[1:] * noise_std**2 <= 1).nonzero()[0]) + 1
        raise ValueError(f"the recording's noise (std {noise_std}) is above level t0={t0} (SNR {snr:.3g} > 1/s^2); "
                         f"start at t0 >= {first}")  # fmt: skip
    z = _randn(y.shape, generator, y)
    if noise_std == 0:
        x = q_sample(y, torch.full((y.shape[0],), t0, dtype=torch.int64, device=y.device), z, schedule)  # Eq. (4)
    else:
        ab = schedule.alpha_bar[t0].item()
        x = math.sqrt(ab) * y + math.sqrt(max(1 - ab - ab * noise_std**2, 0.0)) * z  # the missing noise only
    return _run(sampler, denoise, x, timesteps, schedule, generator)
