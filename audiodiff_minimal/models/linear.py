"""Linear denoisers for Gaussian data: closed forms and a learnable one (introduced in ``03_toy_linear_model``).

When x_0 ~ N(0, Sigma), the best predictor of the noise given x_t is linear in x_t:
with x_t = sqrt(alpha_bar_t) x_0 + sigma_t eps, Cov(x_t) = alpha_bar_t Sigma + sigma_t^2 I
and Cov(eps, x_t) = sigma_t I, so

    E[eps | x_t] = sigma_t (alpha_bar_t Sigma + sigma_t^2 I)^{-1} x_t       (Wiener filter)
"""

import math

import torch
from torch import nn
from tqdm.auto import trange

from ..losses import diffusion_loss
from ..schedules import Schedule, gather
from ..utils import cosine_decay


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


def gaussian_x0_matrix(cov: torch.Tensor, t: int, schedule: Schedule) -> torch.Tensor:
    """The (L, L) Wiener filter H_t with E[x_0 | x_t] = H_t x_t for x_0 ~ N(0, cov); float64.

    H_t = sqrt(alpha_bar_t) cov (alpha_bar_t cov + sigma_t^2 I)^{-1}  (Eq. 3.2), and
    x0_hat = (x_t - sigma_t eps_hat) / sqrt(alpha_bar_t) turns it into ``gaussian_eps_matrix``.
    """
    ab, sigma = schedule.alpha_bar[t].item(), schedule.sigma[t].item()
    cov = cov.double()
    eye = torch.eye(cov.shape[0], dtype=torch.float64)
    return ab**0.5 * cov @ torch.linalg.inv(ab * cov + sigma**2 * eye)


def gaussian_eps_matrices(cov: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """All optimal eps-predictor matrices stacked, (T + 1, L, L) float64, index t = step t (row 0 is zero)."""
    L = cov.shape[0]
    mats = [torch.zeros(L, L, dtype=torch.float64)]
    return torch.stack(mats + [gaussian_eps_matrix(cov, t, schedule) for t in range(1, schedule.T + 1)])


class LinearEps(nn.Module):
    """A learnable linear eps-predictor, one (L, L) matrix per step: eps_hat = W_t x_t (Eq. 3.4).

    ``weight[t]`` belongs to step t (index 0 is unused), so ``weight`` compares directly with
    :func:`gaussian_eps_matrices`. Starts at zero (predicting eps_hat = 0). The model never
    stores a schedule.
    """

    def __init__(self, length: int, T: int):
        super().__init__()
        self.length, self.T = length, T
        self.weight = nn.Parameter(torch.zeros(T + 1, length, length))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t (B, 1, L), t (B,) int64 in 1..T -> eps_hat (B, 1, L)."""
        if x_t.shape[-1] != self.length:
            raise ValueError(f"LinearEps was built for length {self.length}, got clips of length {x_t.shape[-1]}")
        B, T, L = x_t.shape[0], self.T, self.length
        if B % T == 0 and torch.equal(t, stratified_t(T, B // T, device=t.device)):
            # A stratified batch (training): one batched matmul, (T, B/T, L) @ (T, L, L).
            return (x_t.reshape(T, B // T, L) @ self.weight[1:].transpose(1, 2)).reshape(B, 1, L)
        return torch.bmm(x_t, self.weight[t].transpose(1, 2))  # (B, 1, L) @ (B, L, L)


def stratified_t(T: int, per_step: int, device=None) -> torch.Tensor:
    """Every step 1..T repeated ``per_step`` times, (T * per_step,) int64: a batch that covers all t evenly."""
    return torch.arange(1, T + 1, device=device).repeat_interleave(per_step)


def train_linear_eps(
    model: LinearEps,
    data: torch.Tensor,
    schedule: Schedule,
    steps: int,
    lr: float,
    per_step: int = 64,
    seed: int = 0,
    progress: bool = False,
) -> list[float]:
    """Fit ``model`` by plain SGD on the diffusion loss (DDPM Eq. 14) with batches covering every t evenly.

    Each step draws T * ``per_step`` clips from ``data`` (N, 1, L), fresh noise, and takes one SGD
    step; the learning rate is constant for the first half of the run, then decays with half a cosine
    (``utils.cosine_decay``) to 0, which removes most of SGD's noise floor. Stops early (returning the
    losses so far, the last one inf, nan or above 1e6) if the loss diverges.

    Not :func:`train.train`: chapter 03's lesson is plain SGD on a quadratic loss, whose learning-rate
    sweep must be allowed to diverge and report it; the one loop's AdamW, clipping and EMA would hide
    exactly that, and its divergence is an error. (``models/`` also sits below ``train.py``.)
    Returns:
        the loss after each step (a list of floats).
    """
    g = torch.Generator().manual_seed(seed)
    t = stratified_t(schedule.T, per_step, device=data.device)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    half = steps // 2
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: cosine_decay((i - half) / (steps - half), 0.0))
    losses, threads = [], torch.get_num_threads()
    torch.set_num_threads(1)  # tensors this small run far faster without OpenMP synchronisation on a busy CPU
    try:
        for _ in trange(steps, disable=not progress, desc="linear eps"):
            x0 = data[torch.randint(len(data), (len(t),), generator=g).to(data.device)]
            loss = diffusion_loss(model, x0, schedule, "eps", g, t=t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if not math.isfinite(losses[-1]) or losses[-1] > 1e6:
                break
    finally:
        torch.set_num_threads(threads)
    return losses


def wiener_eps_hat(x_t: torch.Tensor, t: torch.Tensor, power, schedule: Schedule) -> torch.Tensor:
    """E[eps | x_t] for stationary (circular) Gaussian x_0 with power spectrum S_k, as a filter (Eq. 3.3).

    For a circulant covariance the DFT diagonalises everything and ``gaussian_eps_matrix`` becomes a gain
    per frequency, sigma_t / (alpha_bar_t S_k + sigma_t^2): the same linear model for clips of any length.
    Args:
        x_t: (B, 1, L).  t: (B,) int64 in 1..T.  power: (L // 2 + 1,) S at the rfft bins k sr / L
            (normalised as in ``spectral``: white noise of variance 1 has S = 1).
    Returns:
        (B, 1, L) in x_t's dtype and device.
    """
    ab, sigma = gather(schedule.alpha_bar, t, x_t), gather(schedule.sigma, t, x_t)  # (B, 1, 1)
    S = torch.as_tensor(power, dtype=x_t.dtype, device=x_t.device)
    if S.shape[-1] != x_t.shape[-1] // 2 + 1:
        raise ValueError(f"power has {S.shape[-1]} bins; clips of length {x_t.shape[-1]} need {x_t.shape[-1] // 2 + 1}")
    gain = sigma / (ab * S + sigma**2)  # (B, 1, L // 2 + 1)
    return torch.fft.irfft(torch.fft.rfft(x_t) * gain, n=x_t.shape[-1])
