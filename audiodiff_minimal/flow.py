"""Flow matching: a straight path from audio to noise, and a network that learns its velocity (``09_continuous_time``).

Time t runs in [0, 1], from the clip (t = 0) to the noise (t = 1), on the linear interpolant of rectified flow
(Liu et al. 2023, Eq. 1) and of conditional flow matching with sigma_min = 0 (Lipman et al. 2023, Eqs. 20-23)::

    x_t = (1 - t) x_0 + t eps,       eps ~ N(0, I)                                   (9.7)
    u   = d x_t / dt = eps - x_0     (the conditional velocity, the regression target) (9.8)
    loss = E_{t ~ U[0, 1]} || u_theta(x_t, t) - (eps - x_0) ||^2                     (9.9)

The best u_theta is E[eps - x_0 | x_t], whose ODE dx/dt = u carries N(0, I) at t = 1 to the data at t = 0.
Sampling integrates it from t = 1 down to 0 with Euler or Heun's method (:func:`flow_euler_sample`,
:func:`flow_heun_sample`). The network sees the time as ``time_scale * t`` (1000 t by default), so the
U-Net's sinusoidal time features cover the same range as for the integer diffusion steps 1..1000.

The same path as the variance-preserving one (:func:`fm_time`, :func:`v_to_velocity`): x_vp = alpha x_0 + sigma eps
with alpha^2 + sigma^2 = 1 is (alpha + sigma) x_t at t = sigma / (alpha + sigma), and the velocity is the
v-prediction v = alpha eps - sigma x_0 rescaled, plus a known multiple of x:

    u = (alpha + sigma) v - (alpha - sigma) x_vp                                     (9.10)

References:
    Lipman, Chen, Ben-Hamu, Nickel, Le (2023), Flow Matching for Generative Modeling, Sec. 4.1, Eqs. (20)-(23).
    Liu, Gong, Liu (2023), Flow Straight and Fast: Rectified Flow, Eq. (1) and Algorithm 1 (reflow).
    Albergo & Vanden-Eijnden (2023), Building Normalizing Flows with Stochastic Interpolants.
    Salimans & Ho (2022), Progressive Distillation, Sec. 4 (v-prediction).
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F

Velocity = Callable[[torch.Tensor, float], torch.Tensor]
TIME_SCALE = 1000.0  # the network's time input is TIME_SCALE * t


def interpolant(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) x_0 + t eps, Eq. (9.7). x0, eps: (B, 1, L); t: (B,) floats in [0, 1]. Returns (B, 1, L)."""
    t = t.to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))  # (B, 1, 1)
    return (1 - t) * x0 + t * eps


def velocity_target(x0: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """u = eps - x_0, the time derivative of Eq. (9.7), Eq. (9.8). Shapes (B, 1, L)."""
    return eps - x0


def flow_matching_loss(
    model,
    x0: torch.Tensor,
    time_scale: float = TIME_SCALE,
    generator: torch.Generator | None = None,
    labels: torch.Tensor | None = None,
    t: torch.Tensor | None = None,
    place=None,
) -> torch.Tensor:
    """The conditional flow-matching loss, Eq. (9.9), averaged over every number (as ``losses.diffusion_loss``).

    t ~ U[0, 1] and eps ~ N(0, I) are drawn from ``generator`` on the CPU, then moved by ``place``.
    Args:
        model: callable ``model(x_t, time_scale * t)`` (or with ``labels``) -> (B, 1, L) velocity.
        x0: (B, 1, L) clean audio.  t: (B,) floats in [0, 1]; drawn uniformly if None.
        place: applied to x0, t, eps and labels (default: move them to ``x0.device``).
    Returns:
        () scalar loss.
    """
    if t is None:
        t = torch.rand(x0.shape[0], generator=generator, dtype=torch.float64)
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)  # CPU draws, then moved
    place = place or (lambda a: a.to(x0.device))
    x0, t, eps = place(x0), place(t), place(eps)
    x_t = interpolant(x0, eps, t)  # Eq. (9.7)
    t_net = (time_scale * t).to(x0.dtype)
    output = model(x_t, t_net) if labels is None else model(x_t, t_net, place(labels))
    return F.mse_loss(output.to(x0.dtype), velocity_target(x0, eps))


def velocity_model(net, time_scale: float = TIME_SCALE) -> Velocity:
    """Wrap a network trained with :func:`flow_matching_loss` as ``velocity(x_t, t) -> u``, t a float in [0, 1]."""

    def velocity(x_t: torch.Tensor, t: float) -> torch.Tensor:
        t_net = torch.full((x_t.shape[0],), time_scale * float(t), dtype=x_t.dtype, device=x_t.device)  # (B,)
        return net(x_t, t_net)

    return velocity


def flow_timesteps(steps: int) -> list[float]:
    """``steps + 1`` evenly spaced times from 1 down to 0: [t_0 = 1, ..., t_N = 0]."""
    if steps < 1:
        raise ValueError(f"steps={steps} must be at least 1")
    return [1 - i / steps for i in range(steps + 1)]


@torch.no_grad()
def flow_euler_sample(velocity: Velocity, x, timesteps, callback=None):
    """Euler's method on dx/dt = u(x, t) from t_0 down to t_N: x_{i+1} = x_i + (t_{i+1} - t_i) u(x_i, t_i).

    Args:
        velocity: (x_t (B, 1, L), t float) -> (B, 1, L).  x: (B, 1, L) the state at t_0 (noise ~ N(0, I) at t = 1).
        timesteps: decreasing floats [t_0, ..., t_N] (:func:`flow_timesteps`); N network evaluations.
        callback: ``callback(i, t, s, x_s, x0_hat)`` after each step, x0_hat = x_t - t u (Eq. 9.7 with eps - x0 = u).
    Returns:
        (B, 1, L) the state at t_N.
    """
    for i, (t, s) in enumerate(zip(timesteps[:-1], timesteps[1:], strict=True)):
        u = velocity(x, t)
        x0_hat = x - t * u
        x = x + (s - t) * u  # one Euler step towards the data (s < t)
        if callback:
            callback(i, t, s, x, x0_hat)
    return x


@torch.no_grad()
def flow_heun_sample(velocity: Velocity, x, timesteps, callback=None):
    """Heun's method (explicit trapezoid) on dx/dt = u(x, t): 2 network evaluations per step, error O(1/N^2).

        x' = x_i + (t_{i+1} - t_i) u(x_i, t_i)                                      (Euler predictor)
        x_{i+1} = x_i + (t_{i+1} - t_i) (u(x_i, t_i) + u(x', t_{i+1})) / 2           (trapezoid corrector)

    As in EDM's Algorithm 2 (Karras et al. 2022, "if sigma_{i+1} != 0"), the step that lands on t = 0 is Euler's
    alone: the corrector would ask the net at t = 0, where a trained net is poor (chapter 09's head to head on
    notes_fm, 256 clips: with that evaluation FD 179 [164, 193] and spectral flatness 0.26 at 10 evaluations, commit
    876085b's rows; without it FD 55 [45, 68] and flatness 0.020 at 9, data/results/nfe_vs_quality.json).
    Arguments and return as :func:`flow_euler_sample` (2N - 1 network evaluations when t_N = 0, else 2N).
    """
    for i, (t, s) in enumerate(zip(timesteps[:-1], timesteps[1:], strict=True)):
        u = velocity(x, t)
        x_euler = x + (s - t) * u
        x0_hat = x - t * u
        if s == 0:  # the last step: Euler (EDM Algorithm 2, line 8)
            x = x_euler
        else:
            u_next = velocity(x_euler, s)
            x = x + (s - t) * (u + u_next) / 2
        if callback:
            callback(i, t, s, x, x0_hat)
    return x


FLOW_SAMPLERS = {"euler": flow_euler_sample, "heun": flow_heun_sample}


# --------------------------------------------------------------------------- the VP path, reparametrised


def fm_time(alpha_bar) -> tuple:
    """The flow-matching time t and scale of a VP level: x_vp = scale * x_t at t = sigma / (alpha + sigma).

    With alpha = sqrt(alpha_bar), sigma = sqrt(1 - alpha_bar): x_vp = alpha x_0 + sigma eps
    = (alpha + sigma) ((1 - t) x_0 + t eps). Returns (t, scale = alpha + sigma), floats or tensors like alpha_bar.
    """
    alpha, sigma = alpha_bar**0.5, (1 - alpha_bar) ** 0.5
    return sigma / (alpha + sigma), alpha + sigma


def vp_of_fm_time(t) -> tuple:
    """The inverse of :func:`fm_time`: (alpha, sigma) with alpha^2 + sigma^2 = 1 and sigma / (alpha + sigma) = t."""
    norm = ((1 - t) ** 2 + t**2) ** 0.5
    return (1 - t) / norm, t / norm


def v_to_velocity(v: torch.Tensor, x_vp: torch.Tensor, alpha: float, sigma: float) -> torch.Tensor:
    """The flow-matching velocity from a v-prediction at the same point, Eq. (9.10).

    u = (alpha + sigma) v - (alpha - sigma) x_vp, with v = alpha eps - sigma x_0 at x_vp = alpha x_0 + sigma eps.
    Shapes (B, 1, L).
    """
    return (alpha + sigma) * v - (alpha - sigma) * x_vp


def velocity_to_v(u: torch.Tensor, x_t: torch.Tensor, t: float) -> torch.Tensor:
    """The v-prediction from a flow-matching velocity u at x_t (time t): Eq. (9.10) solved for v.

    x_vp = (alpha + sigma) x_t and v = (u + (alpha - sigma) x_vp) / (alpha + sigma). Shapes (B, 1, L).
    """
    alpha, sigma = vp_of_fm_time(t)
    x_vp = (alpha + sigma) * x_t
    return (u + (alpha - sigma) * x_vp) / (alpha + sigma)


# --------------------------------------------------------------------------- Gaussian data, solved exactly


def gaussian_velocity(cov: torch.Tensor) -> Velocity:
    """The exact velocity E[eps - x_0 | x_t] for data x_0 ~ N(0, cov), as ``velocity(x_t, t)``.

    Cov(eps - x_0, x_t) = t I - (1 - t) C and Cov(x_t) = (1 - t)^2 C + t^2 I, so per eigenvalue lambda of C
    the velocity is (t - (1 - t) lambda) / ((1 - t)^2 lambda + t^2) times x_t's coordinate (a linear map).
    Args:
        cov: (L, L) covariance C, e.g. ``data.ARProcess().covariance(L)``.
    """
    lam, Q = torch.linalg.eigh(cov.double())  # C = Q diag(lam) Q^T

    def velocity(x_t: torch.Tensor, t: float) -> torch.Tensor:
        gain = (t - (1 - t) * lam) / ((1 - t) ** 2 * lam + t**2)  # (L,)
        z = x_t.double() @ Q  # (B, 1, L) coordinates in the eigenbasis
        return ((z * gain) @ Q.T).to(x_t.dtype)

    return velocity


def gaussian_flow_map(cov: torch.Tensor, x: torch.Tensor, t_from: float, t_to: float) -> torch.Tensor:
    """The exact solution of dx/dt = u(x, t) for Gaussian data: x_{t_to} = Phi(t_to) Phi(t_from)^{-1} x_{t_from},
    Phi(t) = ((1 - t)^2 C + t^2 I)^{1/2}. x: (B, 1, L). Returns (B, 1, L)."""
    lam, Q = torch.linalg.eigh(cov.double())
    phi = lambda t: ((1 - t) ** 2 * lam + t**2).sqrt()  # noqa: E731
    z = x.double() @ Q
    return ((z * phi(t_to) / phi(t_from)) @ Q.T).to(x.dtype)


def gaussian_fm_loss(cov: torch.Tensor, t: float) -> float:
    """The flow-matching loss (per number) of the exact velocity at time t: mean over eigenvalues lambda of C of
    Var(eps - x_0 | x_t) = lambda / ((1 - t)^2 lambda + t^2), the floor no network can go below."""
    lam = torch.linalg.eigvalsh(cov.double())
    return (lam / ((1 - t) ** 2 * lam + t**2)).mean().item()


def path_straightness(xs: torch.Tensor) -> float:
    """How straight a sampled path is: |x_N - x_0| / (sum of |x_{i+1} - x_i|), averaged over clips; 1 = a line.

    Args:
        xs: (N + 1, B, 1, L) the states along a path (``samplers.Trajectory(...)["x_t"]``).
    """
    chord = (xs[-1] - xs[0]).flatten(1).norm(dim=1)  # (B,)
    arc = (xs[1:] - xs[:-1]).flatten(2).norm(dim=2).sum(0)  # (B,)
    return (chord / arc).mean().item()
