"""The forward (noising) process q and its posterior (introduced in ``01_noise_process``).

Notation (DDPM, Ho et al. 2020): x_t = sqrt(alpha_bar_t) x_0 + sigma_t eps with
sigma_t = sqrt(1 - alpha_bar_t) and eps ~ N(0, I). All audio tensors are (B, 1, L)
(or any (B, ...) shape) and ``t`` is (B,) int64 in 1..T.

Prediction targets a network may output, and how they convert:
    eps  : the noise,                               DDPM Eq. (11)
    x0   : the clean signal,                        x0 = (x_t - sigma_t eps) / sqrt(alpha_bar_t)
    v    : sqrt(alpha_bar_t) eps - sigma_t x_0,     Salimans & Ho (2022), Sec. 4 and App. D
"""

import torch

from .schedules import Schedule, gather

PREDICTIONS = ("eps", "x0", "v")


def q_sample(x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0) in closed form, DDPM Eq. (4).

    Args:
        x0: (B, 1, L) clean audio.  t: (B,) int64 in 0..T.  eps: (B, 1, L) standard normal.
    Returns:
        (B, 1, L) noisy audio sqrt(alpha_bar_t) x_0 + sigma_t eps.
    """
    return gather(schedule.alpha_bar, t, x0).sqrt() * x0 + gather(schedule.sigma, t, x0) * eps


def q_step(x_prev: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """One step of the chain, x_t ~ q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I), DDPM Eq. (2).

    Args:
        x_prev: (B, 1, L) x_{t-1}.  t: (B,) int64 in 1..T.  eps: (B, 1, L) standard normal.
    Returns:
        (B, 1, L) x_t.
    """
    return gather(schedule.alpha, t, x_prev).sqrt() * x_prev + gather(schedule.beta, t, x_prev).sqrt() * eps


def q_posterior(
    x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, schedule: Schedule
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of q(x_{t-1} | x_t, x_0), DDPM Eqs. (6)-(7).

    mu_tilde = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0
             + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t
    beta_tilde = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t

    Args:
        x0: (B, 1, L).  x_t: (B, 1, L).  t: (B,) int64 in 1..T.
    Returns:
        mu_tilde (B, 1, L) and beta_tilde (B, 1, 1).
    """
    alpha_bar, alpha, beta = schedule.alpha_bar, schedule.alpha, schedule.beta
    ab_t, ab_prev = gather(alpha_bar, t, x_t), gather(alpha_bar, t - 1, x_t)
    beta_t, alpha_t = gather(beta, t, x_t), gather(alpha, t, x_t)
    coef_x0 = ab_prev.sqrt() * beta_t / (1 - ab_t)  # Eq. (7), first term
    coef_xt = alpha_t.sqrt() * (1 - ab_prev) / (1 - ab_t)  # Eq. (7), second term
    beta_tilde = (1 - ab_prev) / (1 - ab_t) * beta_t  # Eq. (7)
    return coef_x0 * x0 + coef_xt * x_t, beta_tilde


def eps_to_x0(x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """x_0 = (x_t - sigma_t eps) / sqrt(alpha_bar_t): invert Eq. (4) for x_0. Shapes (B, 1, L)."""
    return (x_t - gather(schedule.sigma, t, x_t) * eps) / gather(schedule.alpha_bar, t, x_t).sqrt()


def x0_to_eps(x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """eps = (x_t - sqrt(alpha_bar_t) x_0) / sigma_t: invert Eq. (4) for eps (t >= 1). Shapes (B, 1, L)."""
    return (x_t - gather(schedule.alpha_bar, t, x_t).sqrt() * x0) / gather(schedule.sigma, t, x_t)


def v_target(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """v = sqrt(alpha_bar_t) eps - sigma_t x_0, Salimans & Ho (2022) Sec. 4. Shapes (B, 1, L)."""
    return gather(schedule.alpha_bar, t, x0).sqrt() * eps - gather(schedule.sigma, t, x0) * x0


def v_to_x0_eps(
    x_t: torch.Tensor, t: torch.Tensor, v: torch.Tensor, schedule: Schedule
) -> tuple[torch.Tensor, torch.Tensor]:
    """Recover (x_0, eps) from v: x_0 = sqrt(ab) x_t - sigma v, eps = sigma x_t + sqrt(ab) v.

    Exact because (sqrt(ab), sigma) is a unit vector (Salimans & Ho 2022, App. D).
    """
    a, s = gather(schedule.alpha_bar, t, x_t).sqrt(), gather(schedule.sigma, t, x_t)
    return a * x_t - s * v, s * x_t + a * v


def to_x0_eps(
    output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, schedule: Schedule, prediction: str = "eps"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn a network's output into (x0_hat, eps_hat), whatever it was trained to predict.

    Args:
        output: (B, 1, L) the network's prediction of ``prediction`` ("eps", "x0" or "v").
        x_t: (B, 1, L).  t: (B,) int64 in 1..T.
    Returns:
        x0_hat and eps_hat, each (B, 1, L).
    """
    if prediction == "eps":
        return eps_to_x0(x_t, t, output, schedule), output
    if prediction == "x0":
        return output, x0_to_eps(x_t, t, output, schedule)
    if prediction == "v":
        return v_to_x0_eps(x_t, t, output, schedule)
    raise ValueError(f"unknown prediction {prediction!r}; choose one of {PREDICTIONS}")


def training_target(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor, schedule: Schedule, prediction: str):
    """What a network trained to predict ``prediction`` should output for (x_0, eps, t). Shapes (B, 1, L)."""
    if prediction == "eps":
        return eps
    if prediction == "x0":
        return x0
    if prediction == "v":
        return v_target(x0, eps, t, schedule)
    raise ValueError(f"unknown prediction {prediction!r}; choose one of {PREDICTIONS}")
