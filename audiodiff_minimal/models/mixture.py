"""A mixture of note shapes: data whose optimal denoiser is known and nonlinear (introduced in ``03_toy_linear_model``).

The data: pick component k with probability pi_k, then x_0 = mu_k + tau z, z ~ N(0, I). Given
x_t = sqrt(alpha_bar_t) x_0 + sigma_t eps, component k makes x_t ~ N(sqrt(alpha_bar_t) mu_k, v_t I) with
v_t = alpha_bar_t tau^2 + sigma_t^2, so Bayes' rule gives the responsibilities (chapter 03, Eq. 3.7)

    r_k(x_t) = softmax_k( log pi_k - ||x_t - sqrt(alpha_bar_t) mu_k||^2 / (2 v_t) )

and, within a component, the Wiener filter E[x_0 | x_t, k] = mu_k + sqrt(alpha_bar_t) tau^2 / v_t (x_t - sqrt(ab) mu_k).
The optimal denoiser is their average weighted by the responsibilities (Eq. 3.8):

    E[x_0 | x_t] = sum_k r_k(x_t) E[x_0 | x_t, k]        (nonlinear in x_t: a soft "pick one")

The best *linear* (affine) denoiser only knows the mixture's mean m and covariance Sigma: it is the Wiener
filter m + sqrt(ab) Sigma (ab Sigma + sigma^2 I)^{-1} (x_t - sqrt(ab) m) of Eq. (3.2), computed here in the
span of the centred means, so it costs O(K L) at any clip length.
"""

from dataclasses import dataclass

import torch

from ..data import SR, toy_note
from ..schedules import Schedule, gather


@dataclass(frozen=True)
class Mixture:
    """K isotropic Gaussian components of equal spread ``tau`` around the rows of ``means``.

    Attributes:
        means: (K, L) the component means mu_k (for notes: K note shapes).
        weights: (K,) the probabilities pi_k, summing to one.
        tau: the within-component standard deviation.
    """

    means: torch.Tensor
    weights: torch.Tensor
    tau: float

    def mean(self) -> torch.Tensor:
        """m = sum_k pi_k mu_k, shape (L,)."""
        return self.weights @ self.means

    def covariance(self) -> torch.Tensor:
        """Sigma = sum_k pi_k (mu_k - m)(mu_k - m)^T + tau^2 I, shape (L, L)."""
        D = (self.means - self.mean()) * self.weights.sqrt()[:, None]  # (K, L)
        return D.T @ D + self.tau**2 * torch.eye(self.means.shape[1], dtype=self.means.dtype)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw n clips: x_0 (n, 1, L) and their components k (n,) int64."""
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.means.shape[1], generator=generator, dtype=self.means.dtype)
        return (self.means[k] + self.tau * z).unsqueeze(1), k


def responsibilities(x_t: torch.Tensor, t: torch.Tensor, mix: Mixture, schedule: Schedule) -> torch.Tensor:
    """r_k(x_t) = p(k | x_t), Eq. (3.7), shape (B, K).

    Args:
        x_t: (B, 1, L).  t: (B,) int64 in 1..T.
    """
    a = gather(schedule.alpha_bar, t, x_t).sqrt().view(-1, 1)  # (B, 1) sqrt(alpha_bar_t)
    v = a**2 * mix.tau**2 + gather(schedule.sigma, t, x_t).view(-1, 1) ** 2  # (B, 1)
    means = mix.means.to(x_t.device, x_t.dtype)  # (K, L)
    sq = (x_t.flatten(1)[:, None, :] - a[:, :, None] * means).pow(2).sum(-1)  # (B, K) ||x_t - a mu_k||^2
    logits = mix.weights.to(x_t.device, x_t.dtype).log() - sq / (2 * v)
    return torch.softmax(logits, dim=1)


def mixture_x0_hat(x_t: torch.Tensor, t: torch.Tensor, mix: Mixture, schedule: Schedule) -> torch.Tensor:
    """The optimal denoiser E[x_0 | x_t] of the mixture, Eq. (3.8).

    Args:
        x_t: (B, 1, L).  t: (B,) int64 in 1..T.
    Returns:
        (B, 1, L) in x_t's dtype and device.
    """
    a = gather(schedule.alpha_bar, t, x_t).sqrt()  # (B, 1, 1)
    v = a**2 * mix.tau**2 + gather(schedule.sigma, t, x_t) ** 2
    r = responsibilities(x_t, t, mix, schedule)  # (B, K)
    mu_bar = (r @ mix.means.to(x_t.device, x_t.dtype)).unsqueeze(1)  # (B, 1, L) sum_k r_k mu_k
    return mu_bar + a * mix.tau**2 / v * (x_t - a * mu_bar)  # the within-component Wiener step is linear


def linear_x0_hat(x_t: torch.Tensor, t: torch.Tensor, mix: Mixture, schedule: Schedule) -> torch.Tensor:
    """The best affine denoiser of the mixture: the Wiener filter of its mean and covariance, Eq. (3.2).

    Sigma = U Lambda U^T + tau^2 I with U (L, r) spanning the centred means, so Sigma C_t^{-1} acts as a gain
    (lambda_i + tau^2) / (ab (lambda_i + tau^2) + sigma^2) along u_i and tau^2 / (ab tau^2 + sigma^2) elsewhere.
    Args:
        x_t: (B, 1, L).  t: (B,) int64 in 1..T.
    Returns:
        (B, 1, L).
    """
    D = ((mix.means - mix.mean()) * mix.weights.sqrt()[:, None]).double()  # (K, L), Sigma = D^T D + tau^2 I
    lam, V = torch.linalg.eigh(D @ D.T)  # (K,), (K, K)
    keep = lam > 1e-12 * lam.max()
    U = (D.T @ V[:, keep]) / lam[keep].sqrt()  # (L, r) orthonormal
    lam = lam[keep]
    a = gather(schedule.alpha_bar, t, x_t.double()).sqrt()  # (B, 1, 1)
    s2 = gather(schedule.sigma, t, x_t.double()) ** 2
    gain_rest = a * mix.tau**2 / (a**2 * mix.tau**2 + s2)  # (B, 1, 1)
    gain_u = a * (lam + mix.tau**2) / (a**2 * (lam + mix.tau**2) + s2)  # (B, 1, r)
    m = mix.mean().double()
    y = x_t.double() - a * m  # (B, 1, L) centred
    coords = y @ U  # (B, 1, r)
    x0_hat = m + gain_rest * y + ((gain_u - gain_rest) * coords) @ U.T
    return x0_hat.to(x_t.dtype)


def note_mixture(
    pitches=(0, 2, 4, 7), timbre: int = 2, length: int = 4096, sr: int = SR, tau: float = 0.005, seed: int = 0
) -> Mixture:
    """A mixture of K = len(pitches) fixed toy-note shapes (``data.toy_note``), equally likely, float64.

    Each component is one note (its own pitch, phases and envelope) plus white noise of std ``tau``.
    """
    g = torch.Generator().manual_seed(seed)
    means = torch.cat([toy_note(p, timbre, length, sr, g) for p in pitches]).double()  # (K, L)
    weights = torch.full((len(pitches),), 1.0 / len(pitches), dtype=torch.float64)
    return Mixture(means, weights, tau)
