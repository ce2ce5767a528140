"""Noise schedules: beta_t and everything derived from it (introduced in ``01_noise_process``).

Index in code equals index in math: every array has length ``T + 1`` and entry
``t`` belongs to step ``t`` in 1..T. Entry 0 is the clean signal:
``alpha_bar[0] == 1``, ``sigma[0] == 0``, ``beta[0] == 0``.

Schedules are computed and stored in float64 on the CPU; :func:`gather` reads
entries in the dtype and on the device of the audio they scale (mps has no
float64, so the cast happens on the CPU first).

References:
    Ho, Jain, Abbeel (2020), Denoising Diffusion Probabilistic Models (DDPM), Sec. 4.
    Nichol, Dhariwal (2021), Improved Denoising Diffusion Probabilistic Models, Sec. 3.2.
    Song et al. (2021), Score-Based Generative Modeling through SDEs (VP-SDE), Appendix B.
"""

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Schedule:
    """A discrete variance-preserving schedule with ``T`` steps.

    Attributes (each a float64 tensor of shape ``(T + 1,)``):
        beta: beta_t, the variance added at step t (DDPM Eq. 2); ``beta[0] = 0``.
        alpha: alpha_t = 1 - beta_t.
        alpha_bar: alpha_bar_t = prod_{s<=t} alpha_s (DDPM Eq. 4); ``alpha_bar[0] = 1``.
        sigma: sigma_t = sqrt(1 - alpha_bar_t), the noise std of x_t given x_0.
        snr: SNR_t = alpha_bar_t / sigma_t**2 (Kingma et al. 2021, Eq. 1); ``snr[0] = inf``.
        log_snr: log SNR_t (natural log).
    """

    name: str
    T: int
    beta: torch.Tensor

    @property
    def alpha(self) -> torch.Tensor:
        return 1.0 - self.beta

    @property
    def alpha_bar(self) -> torch.Tensor:
        return torch.cumprod(self.alpha, dim=0)

    @property
    def sigma(self) -> torch.Tensor:
        return torch.sqrt(1.0 - self.alpha_bar)

    @property
    def snr(self) -> torch.Tensor:
        return self.alpha_bar / (1.0 - self.alpha_bar)

    @property
    def log_snr(self) -> torch.Tensor:
        return torch.log(self.snr)

    def to_dict(self) -> dict:
        """The JSON-friendly recipe that rebuilds this schedule with :func:`make_schedule`."""
        return {"name": self.name, "T": self.T}


def _from_alpha_bar(name: str, alpha_bar: torch.Tensor, max_beta: float) -> Schedule:
    """Betas from a target alpha_bar (T+1,), clipped at ``max_beta`` (Nichol & Dhariwal Sec. 3.2)."""
    beta = 1.0 - alpha_bar[1:] / alpha_bar[:-1]
    beta = beta.clamp(max=max_beta)
    return Schedule(name, len(beta), torch.cat([beta.new_zeros(1), beta]))


def linear_schedule(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02, max_beta: float = 0.999) -> Schedule:
    """DDPM's linear schedule: beta_t rises linearly from beta_1 to beta_T (DDPM Sec. 4).

    For ``T != 1000`` both ends are scaled by ``1000 / T`` (as in improved DDPM's code)
    so that alpha_bar_T stays near zero whatever the number of steps; for very small T
    the scaled betas are clipped at ``max_beta`` so that every alpha_t stays positive.
    """
    scale = 1000.0 / T
    beta = torch.linspace(scale * beta_1, scale * beta_T, T, dtype=torch.float64).clamp(max=max_beta)
    return Schedule("linear", T, torch.cat([beta.new_zeros(1), beta]))


def cosine_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """Improved DDPM's cosine schedule, Nichol & Dhariwal (2021) Eq. (17).

    alpha_bar_t = f(t) / f(0) with f(t) = cos^2(((t/T + s) / (1 + s)) * pi / 2); the betas
    it implies are clipped at ``max_beta`` to avoid the singularity at t = T, and
    alpha_bar is then recomputed from the clipped betas so that the two always agree.
    """
    u = torch.arange(T + 1, dtype=torch.float64) / T
    return _from_alpha_bar("cosine", alpha_bar_cosine(u, s), max_beta)


SCHEDULES = {"linear": linear_schedule, "cosine": cosine_schedule}


def make_schedule(name: str = "cosine", T: int = 1000) -> Schedule:
    """Build a schedule by name (``"linear"`` or ``"cosine"``)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    return SCHEDULES[name](T)


# Continuous time u in [0, 1] (u = t / T in the limit T -> infinity).


def alpha_bar_cosine(u: torch.Tensor, s: float = 0.008) -> torch.Tensor:
    """Continuous cosine alpha_bar(u), Nichol & Dhariwal (2021) Eq. (17), u in [0, 1]."""
    f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    return f / f0


def gather(a: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Entries ``a[t]`` shaped to broadcast against ``x``.

    Args:
        a: (T + 1,) a schedule array.  t: (B,) int64 in 0..T.  x: (B, C, L) audio.
    Returns:
        (B, 1, 1) in ``x``'s dtype and on ``x``'s device.
    """
    a = a.to(x.dtype).to(x.device)  # cast on the CPU first (mps has no float64), then index where x lives
    return a[t.to(x.device)].view(-1, *([1] * (x.dim() - 1)))
