"""EDM: the diffusion ODE in sigma, its preconditioning and Heun sampler (Karras et al. 2022; ``09_continuous_time``).

EDM writes every diffusion model as x = x_0 + sigma n, n ~ N(0, I), and asks the network for the denoiser
D(x; sigma) ~ E[x_0 | x]. The probability-flow ODE (Song et al. 2021, Eq. 13) then reads (Karras Eq. 1 with
s(t) = 1, sigma(t) = t, and grad log p = (D - x) / sigma^2 from Eq. 3)::

    dx / dsigma = (x - D(x; sigma)) / sigma                                         (9.3)

A variance-preserving step t of our schedules is the same point, scaled (Karras Table 1, "VP"):

    x_vp = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps
    sigma_t = sqrt(1 - alpha_bar_t) / sqrt(alpha_bar_t),   x = x_vp / sqrt(alpha_bar_t)  (9.4)

so :func:`vp_denoiser` turns any shipped network (eps, x0 or v prediction) into D(x; sigma). A network built
for EDM instead learns F in D(x; sigma) = c_skip x + c_out F(c_in x; c_noise) (Karras Eq. 7 and Table 1):

    c_skip = sigma_data^2 / (sigma^2 + sigma_data^2),   c_out = sigma sigma_data / sqrt(sigma^2 + sigma_data^2)
    c_in = 1 / sqrt(sigma^2 + sigma_data^2),             c_noise = ln(sigma) / 4                       (9.5)

sigma_data is the standard deviation of the data (0.5 for images; our notes are quieter: measure it).
:func:`karras_sigmas` spaces the levels with rho = 7 (Eq. 5) and :func:`edm_sample` is Algorithm 2
(Heun's second-order method, with optional stochastic "churn"; ``heun=False`` gives Euler).

References:
    Karras, Aittala, Aila, Laine (2022), Elucidating the Design Space of Diffusion-Based Generative Models,
    Eqs. (1), (3), (5), (7), Table 1 and Algorithms 1-2.
    Song et al. (2021), Score-Based Generative Modeling through SDEs, Eqs. (11), (13) (VP-SDE, PF-ODE).
"""

import math
from collections.abc import Callable

import torch

from .forward import PREDICTIONS
from .schedules import Schedule

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]  # D(x (B, 1, L); sigma) -> (B, 1, L) x0_hat


# --------------------------------------------------------------------------- sigma and the VP schedules


def vp_sigma(alpha_bar):
    """sigma = sqrt(1 - alpha_bar) / sqrt(alpha_bar), Eq. (9.4): the EDM noise level of a VP level (float or tensor)."""
    return (1 - alpha_bar) ** 0.5 / alpha_bar**0.5


def sigma_to_alpha_bar(sigma):
    """The inverse of :func:`vp_sigma`: alpha_bar = 1 / (1 + sigma^2)."""
    return 1 / (1 + sigma**2)


def sigma_to_t(sigma: float, schedule: Schedule) -> float:
    """The (fractional) step t in [1, T] whose sigma_t equals ``sigma``: log sigma interpolated linearly in t.

    sigma_t increases with t, so the inverse is well defined; levels outside [sigma_1, sigma_T] clamp to 1 or T.
    """
    log_sigma = torch.log(vp_sigma(schedule.alpha_bar[1:]))  # (T,) for t = 1..T, increasing
    x = math.log(sigma)
    i = int(torch.searchsorted(log_sigma, torch.tensor(x, dtype=log_sigma.dtype)).clamp(1, schedule.T - 1))
    lo, hi = log_sigma[i - 1].item(), log_sigma[i].item()  # the levels of t = i and t = i + 1
    frac = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return i + frac


def vp_denoiser(net, schedule: Schedule, prediction: str = "v", discrete: bool = False) -> Denoiser:
    """D(x; sigma) from a network trained on the VP schedule, Eq. (9.4): scale x to x_vp, ask the net, convert.

    The net is asked at the step t with sigma_t = sigma (fractional, :func:`sigma_to_t`; ``discrete=True`` rounds it
    to the nearest integer step, as for a net that only ever saw integer steps); the conversion of its output
    uses sigma itself, so D is exact wherever the net is.
    Args:
        net: callable (x_vp (B, 1, L), t (B,)) -> (B, 1, L) prediction of ``prediction`` ("eps", "x0" or "v").
    Returns:
        ``denoise(x, sigma) -> x0_hat``, x and x0_hat (B, 1, L), sigma a float > 0.
    """
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction {prediction!r}; choose one of {PREDICTIONS}")

    def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
        alpha = math.sqrt(sigma_to_alpha_bar(sigma))  # sqrt(alpha_bar)
        s = sigma * alpha  # sqrt(1 - alpha_bar), the VP noise std
        x_vp = alpha * x  # Eq. (9.4)
        t = sigma_to_t(sigma, schedule)
        t = round(t) if discrete else t
        t_batch = torch.full((x.shape[0],), t, dtype=torch.int64 if discrete else x.dtype, device=x.device)  # (B,)
        out = net(x_vp, t_batch)
        if prediction == "eps":
            return (x_vp - s * out) / alpha  # DDPM Eq. (4) solved for x_0
        if prediction == "x0":
            return out
        return alpha * x_vp - s * out  # x_0 = sqrt(alpha_bar) x_vp - sigma_vp v (Salimans & Ho 2022, App. D)

    return denoise


# --------------------------------------------------------------------------- EDM's own parameterisation


def edm_preconditioning(sigma, sigma_data: float):
    """(c_skip, c_out, c_in, c_noise) of Eq. (9.5), Karras Table 1 (floats or tensors like sigma)."""
    c_skip = sigma_data**2 / (sigma**2 + sigma_data**2)
    c_out = sigma * sigma_data / (sigma**2 + sigma_data**2) ** 0.5
    c_in = 1 / (sigma**2 + sigma_data**2) ** 0.5
    c_noise = torch.log(sigma) / 4 if torch.is_tensor(sigma) else math.log(sigma) / 4
    return c_skip, c_out, c_in, c_noise


def edm_denoiser(net, sigma_data: float) -> Denoiser:
    """D(x; sigma) = c_skip x + c_out F(c_in x; c_noise), Karras Eq. (7), for a raw network F.

    Args:
        net: callable F(x (B, 1, L), c_noise (B,)) -> (B, 1, L).
    """

    def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
        c_skip, c_out, c_in, c_noise = edm_preconditioning(sigma, sigma_data)
        c_noise = torch.full((x.shape[0],), float(c_noise), dtype=x.dtype, device=x.device)  # (B,)
        return c_skip * x + c_out * net(c_in * x, c_noise)

    return denoise


def edm_loss_weight(sigma, sigma_data: float):
    """lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2 = 1 / c_out^2 (Karras Table 1): the weight
    of ||D - x_0||^2 that makes the effective target of F have unit variance at every sigma."""
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def karras_sigmas(steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> list[float]:
    """The EDM discretisation, Karras Eq. (5): ``steps`` levels from sigma_max down to sigma_min, then 0.

        sigma_i = (sigma_max^(1/rho) + i / (N - 1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,  i < N;  sigma_N = 0

    Returns [sigma_0, ..., sigma_{N-1}, 0] (N + 1 floats, decreasing).
    """
    if steps < 2:
        raise ValueError(f"steps={steps}: the rho-spacing needs at least 2 levels")
    hi, lo = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return [(hi + i / (steps - 1) * (lo - hi)) ** rho for i in range(steps)] + [0.0]


def gaussian_denoiser(cov: torch.Tensor) -> Denoiser:
    """The exact D(x; sigma) = E[x_0 | x] = C (C + sigma^2 I)^{-1} x for data x_0 ~ N(0, C), as a denoiser.

    Per eigenvalue lambda of C the gain is lambda / (lambda + sigma^2). Args: cov: (L, L) (``ARProcess.covariance``).
    """
    lam, Q = torch.linalg.eigh(cov.double())  # C = Q diag(lam) Q^T

    def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
        z = x.double() @ Q  # (B, 1, L) in the eigenbasis
        return ((z * lam / (lam + sigma**2)) @ Q.T).to(x.dtype)

    return denoise


def gaussian_ode_map(cov: torch.Tensor, x: torch.Tensor, sigma_from: float, sigma_to: float) -> torch.Tensor:
    """The exact solution of Eq. (9.3) for Gaussian data: x(sigma_to) = (C + sigma_to^2)^{1/2} (C + sigma_from^2)^{-1/2}
    x(sigma_from), per eigenvalue sqrt((lambda + sigma_to^2) / (lambda + sigma_from^2)). x: (B, 1, L)."""
    lam, Q = torch.linalg.eigh(cov.double())
    gain = ((lam + sigma_to**2) / (lam + sigma_from**2)).sqrt()
    return ((x.double() @ Q * gain) @ Q.T).to(x.dtype)


# --------------------------------------------------------------------------- the sampler


@torch.no_grad()
def edm_sample(denoise: Denoiser, x, sigmas, *, churn: float = 0.0, s_tmin: float = 0.0, s_tmax: float = math.inf,
               s_noise: float = 1.0, heun: bool = True, generator=None, callback=None):  # fmt: skip
    """EDM's stochastic sampler, Karras et al. (2022) Algorithm 2 (deterministic Algorithm 1 when churn = 0).

    Args:
        denoise: D(x; sigma) -> x0_hat (:func:`vp_denoiser`, :func:`edm_denoiser`, :func:`gaussian_denoiser`).
        x: (B, 1, L) the start x_0 ~ N(0, sigma_0^2 I), drawn by the caller (line 1), e.g. ``sigmas[0] * randn``.
        sigmas: decreasing noise levels [sigma_0, ..., sigma_N] (:func:`karras_sigmas`; may end above 0).
        churn: S_churn, the total noise added back (gamma_i = min(S_churn / N, sqrt(2) - 1) for sigma_i in
            [s_tmin, s_tmax]).  s_noise: S_noise, the std of that noise.  heun: the 2nd-order correction (lines 9-11);
            False gives Euler.  generator: CPU generator for the churn noise.
        callback: ``callback(i, sigma_i, sigma_{i+1}, x_{i+1}, x0_hat)`` after each step.
    Returns:
        (B, 1, L) x_N. Network evaluations: N with Euler; 2N - 1 with Heun when sigma_N = 0 (else 2N).
    """
    N = len(sigmas) - 1
    for i, (t_cur, t_next) in enumerate(zip(sigmas[:-1], sigmas[1:], strict=True)):
        # Increase noise temporarily (lines 4-6).
        gamma = min(churn / N, math.sqrt(2) - 1) if s_tmin <= t_cur <= s_tmax else 0.0
        t_hat = t_cur + gamma * t_cur
        if gamma > 0:
            eps = s_noise * torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
            x = x + math.sqrt(t_hat**2 - t_cur**2) * eps
        # Euler step (lines 7-8).
        x0_hat = denoise(x, t_hat)
        d_cur = (x - x0_hat) / t_hat  # dx/dsigma, Eq. (9.3)
        x_next = x + (t_next - t_hat) * d_cur
        # Apply the 2nd order correction (lines 9-11).
        if heun and t_next > 0:
            d_prime = (x_next - denoise(x_next, t_next)) / t_next
            x_next = x + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
        x = x_next
        if callback:
            callback(i, t_cur, t_next, x, x0_hat)
    return x
