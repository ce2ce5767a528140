"""Linear denoisers for Gaussian data (introduced in ``03_toy_linear_model``).

When x_0 ~ N(0, Sigma), the best predictor of the noise given x_t is linear in x_t:
with x_t = sqrt(alpha_bar_t) x_0 + sigma_t eps, Cov(x_t) = alpha_bar_t Sigma + sigma_t^2 I
and Cov(eps, x_t) = sigma_t I, so

    E[eps | x_t] = sigma_t (alpha_bar_t Sigma + sigma_t^2 I)^{-1} x_t       (Wiener filter)
"""

import torch

from ..schedules import Schedule


def gaussian_eps_matrix(cov: torch.Tensor, t: int, schedule: Schedule) -> torch.Tensor:
    """The (L, L) matrix W_t with E[eps | x_t] = W_t x_t for x_0 ~ N(0, cov); float64.

    Args:
        cov: (L, L) data covariance Sigma.  t: a step in 1..T.
    """
    ab, sigma = schedule.alpha_bar[t].item(), schedule.sigma[t].item()
    eye = torch.eye(cov.shape[0], dtype=torch.float64)
    return sigma * torch.linalg.inv(ab * cov.double() + sigma**2 * eye)


def gaussian_eps_hat(x_t: torch.Tensor, t: torch.Tensor, cov: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """The exact optimal eps prediction E[eps | x_t] for x_0 ~ N(0, cov).

    Args:
        x_t: (B, 1, L).  t: (B,) int64 in 1..T.  cov: (L, L) data covariance.
    Returns:
        (B, 1, L) in x_t's dtype and device.
    """
    out = torch.empty_like(x_t)
    for step in t.unique().tolist():
        rows = t == step
        W = gaussian_eps_matrix(cov, step, schedule).to(x_t.device, x_t.dtype)
        out[rows] = x_t[rows] @ W.T  # (b, 1, L) @ (L, L)
    return out
