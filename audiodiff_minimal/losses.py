"""Training losses and the variational bound (ELBO) in nats and bits per sample (introduced in ``02_elbo_and_loss``).

The DDPM bound (Ho et al. 2020, Eq. 5) on the negative log-likelihood of a clip x_0:

    -log p(x_0) <= L_T + sum_{t=2}^T L_{t-1} + L_0                                          (2.1)
    L_T     = KL(q(x_T | x_0) || N(0, I))                                  (prior)
    L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p_theta(x_{t-1} | x_t))          (diffusion terms)
    L_0     = -log p_theta(x_0 | x_1)                                      (decoder)

With p_theta(x_{t-1} | x_t) = N(mu_theta, var_t I) and mu_theta = mu_tilde(x0_hat, x_t), each diffusion
term is a weighted squared error (Eq. 2.4; Kingma et al. 2021, Variational Diffusion Models, Eq. 13):

    L_{t-1} = L/2 (r - 1 - log r) + c_t^2 / (2 var_t) ||x_0 - x0_hat||^2,   r = beta_tilde_t / var_t  (2.4)

with c_t = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) the x_0 coefficient of the posterior mean.
For var_t = beta_tilde_t, c_t^2 / (2 var_t) = (SNR_{t-1} - SNR_t) / 2 (Eq. 2.7). Predicting eps multiplies
the weight by 1 / SNR_t (DDPM Eq. 12), predicting v by sigma_t^2 = 1 / (1 + SNR_t) (Salimans & Ho 2022).
Dropping the weights gives the simple loss (DDPM Eq. 14).

Everything in nats unless a name says bits; :func:`bits_per_sample` converts.
"""

import math

import torch
import torch.nn.functional as F

from .forward import q_posterior, q_sample, to_x0_eps, training_target
from .schedules import Schedule, gather

LOG2 = math.log(2.0)
REVERSE_VARIANCES = ("beta", "beta_tilde", "optimal")


# --------------------------------------------------------------------------- the loss we train with


def diffusion_loss(
    model,
    x0: torch.Tensor,
    schedule: Schedule,
    prediction: str = "eps",
    generator: torch.Generator | None = None,
    labels: torch.Tensor | None = None,
    t: torch.Tensor | None = None,
    place=None,
) -> torch.Tensor:
    """The diffusion training loss for any prediction target: DDPM's simple loss, Eq. (14), averaged over every number.

        t ~ Uniform{1..T},  eps ~ N(0, I),  x_t = sqrt(alpha_bar_t) x_0 + sigma_t eps           (DDPM Eq. 4)
        loss = mean || f_theta(x_t, t) - target ||^2,  target = eps, x_0 or v (forward.training_target)

    t and eps are drawn from ``generator`` on the CPU (the same numbers on every device), then moved.
    Args:
        model: callable ``model(x_t, t)`` (or ``model(x_t, t, labels)`` when ``labels`` is given) -> (B, 1, L).
        x0: (B, 1, L) clean audio.  prediction: "eps", "x0" or "v".  labels: (B,) int64 class labels or None.
        t: (B,) int64 in 1..T; drawn uniformly if None.
        place: applied to x0, t, eps and labels once they are drawn (default: move them to ``x0.device``).
            Data-parallel training passes ``lambda a: shard(a, dist).to(device)``: every rank draws the
            global batch's t and eps, then keeps its own shard (``distributed.py``).
    Returns:
        () scalar loss, float32 or x0's dtype if wider.
    """
    B = x0.shape[0]
    if t is None:
        t = torch.randint(1, schedule.T + 1, (B,), generator=generator)
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)  # CPU draws, then moved
    place = place or (lambda a: a.to(x0.device))
    x0, t, eps = place(x0), place(t), place(eps)
    x_t = q_sample(x0, t, eps, schedule)  # DDPM Eq. (4)
    target = training_target(x0, eps, t, schedule, prediction)
    output = model(x_t, t) if labels is None else model(x_t, t, place(labels))
    return F.mse_loss(output.to(target.dtype), target)


simple_loss = diffusion_loss  # DDPM's name for it (chapter 02 uses it)


def autoregressive_loss(model, x0: torch.Tensor) -> torch.Tensor:
    """Teacher-forced cross-entropy -1/L sum_n log2 p(x_n | x_<n), averaged over clips: bits per sample (chapter 07).

    Args:
        model: an autoregressive net with ``nll_bits(x0) -> (B, L)`` (``models.wavenet.WaveNet``).  x0: (B, 1, L).
    """
    return model.nll_bits(x0).mean()


# --------------------------------------------------------------------------- Gaussians


def gaussian_kl(mean1, var1, mean2, var2) -> torch.Tensor:
    """KL(N(mean1, var1) || N(mean2, var2)) per element, in nats (Eq. 2.3). Broadcasts; all tensors."""
    var1, var2 = torch.as_tensor(var1), torch.as_tensor(var2)
    return 0.5 * (torch.log(var2 / var1) + (var1 + (mean1 - mean2) ** 2) / var2 - 1.0)


def gaussian_nll(x, mean, var) -> torch.Tensor:
    """-log N(x; mean, var) per element, in nats. Broadcasts."""
    var = torch.as_tensor(var)
    return 0.5 * (torch.log(2 * math.pi * var) + (x - mean) ** 2 / var)


def gaussian_entropy(cov: torch.Tensor) -> float:
    """Expected NLL of x ~ N(0, cov) under its own density: (L log(2 pi e) + log det cov) / 2, nats per clip.

    For Gaussian data (the AR process) this is the exact NLL that every ELBO bounds from above.
    Args:
        cov: (L, L) covariance (for :class:`data.ARProcess`, ``ar.covariance(L)``).
    """
    cov = cov.double()
    L = cov.shape[0]
    sign, logdet = torch.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError("the covariance is not positive definite; its log-determinant is undefined")
    return 0.5 * (L * math.log(2 * math.pi * math.e) + logdet.item())


# --------------------------------------------------------------------------- discrete audio


def quantize(x: torch.Tensor, bits: int = 16) -> torch.Tensor:
    """Round audio in [-1, 1] to the PCM grid k / 2^(bits-1), k in [-2^(bits-1), 2^(bits-1) - 1]."""
    half = 2 ** (bits - 1)
    return torch.clamp(torch.round(x * half), -half, half - 1) / half


def discretized_gaussian_nll(x0: torch.Tensor, mean, var, bits: int = 16) -> torch.Tensor:
    """-log P(x0) for a Gaussian integrated over x0's PCM bin, per element (DDPM Eq. 13 for 16-bit audio).

    The bin of a grid value x is [x - delta/2, x + delta/2] with delta = 2 / 2^bits; the lowest and
    highest bins extend to -inf and +inf, so the probabilities of all bins sum to one.
    Args:
        x0: (B, 1, L) audio on the grid (see :func:`quantize`).  mean, var: broadcastable to x0.
    Returns:
        (B, 1, L) nats, computed in float64.
    """
    half = 2 ** (bits - 1)
    x0, mean = x0.double(), torch.as_tensor(mean).double()
    std = torch.as_tensor(var).double().sqrt()
    lo = torch.where(x0 <= -1 + 0.5 / half, -torch.inf, (x0 - 0.5 / half - mean) / std)
    hi = torch.where(x0 >= 1 - 1.5 / half, torch.inf, (x0 + 0.5 / half - mean) / std)
    # P = Phi(hi) - Phi(lo), computed on the side of the mean where it does not cancel.
    flip = (lo + hi) > 0
    a, b = torch.where(flip, -hi, lo), torch.where(flip, -lo, hi)
    log_pb, log_pa = torch.special.log_ndtr(b), torch.special.log_ndtr(a)
    return -(log_pb + torch.log1p(-torch.exp(log_pa - log_pb)).clamp(min=-1e4))


def bits_per_sample(nll_nats, length: int) -> float:
    """A clip's NLL in nats divided by (length * ln 2): bits per audio sample (16 = raw 16-bit PCM)."""
    return float(nll_nats) / (length * LOG2)


# --------------------------------------------------------------------------- ELBO terms


def eps_loss_weight(t: torch.Tensor, schedule: Schedule, var: torch.Tensor) -> torch.Tensor:
    """DDPM Eq. (12) weight beta_t^2 / (2 var_t alpha_t (1 - alpha_bar_t)) of ||eps - eps_hat||^2 in L_{t-1}.

    Args:
        t: (B,) int64 in 2..T.  var: (T + 1,) reverse variances var_t (DDPM's sigma_t^2).
    Returns:
        (B,) float64.
    """
    beta, alpha, alpha_bar = schedule.beta[t], schedule.alpha[t], schedule.alpha_bar[t]
    return beta**2 / (2 * var[t] * alpha * (1 - alpha_bar))


def elbo_weight(t: torch.Tensor, schedule: Schedule, var: torch.Tensor, prediction: str = "x0") -> torch.Tensor:
    """The weight w_t with L_{t-1} = w_t ||target - prediction||^2 + (variance term), Eqs. (2.4) and (2.7).

    In x_0 units w_t = c_t^2 / (2 var_t); eps errors are sqrt(SNR_t) times larger, v errors 1 / sigma_t
    times larger, so w_t is divided by SNR_t for "eps" and multiplied by sigma_t^2 for "v".
    Args:
        t: (B,) int64 in 2..T.  var: (T + 1,) reverse variances.
    Returns:
        (B,) float64.
    """
    ab_prev, ab = schedule.alpha_bar[t - 1], schedule.alpha_bar[t]
    c = ab_prev.sqrt() * schedule.beta[t] / (1 - ab)  # x_0 coefficient of mu_tilde, DDPM Eq. (7)
    w_x0 = c**2 / (2 * var[t])
    scale = {"x0": torch.ones_like(ab), "eps": 1 / schedule.snr[t], "v": schedule.sigma[t] ** 2}
    if prediction not in scale:
        raise ValueError(f"unknown prediction {prediction!r}; choose one of {tuple(scale)}")
    return w_x0 * scale[prediction]


def reverse_variance(schedule: Schedule, kind: str = "beta_tilde", x0_mse: torch.Tensor | None = None):
    """The reverse-step variances var_t of p_theta(x_{t-1} | x_t) = N(mu_theta, var_t I), shape (T + 1,).

    kind:
        "beta": var_t = beta_t (DDPM Sec. 3.2, the upper choice).
        "beta_tilde": var_t = beta_tilde_t, the posterior variance (the lower choice); since
            beta_tilde_1 = 0 the decoder (t = 1) uses beta_1 instead.
        "optimal": the best isotropic variance for a given denoiser, var_t = beta_tilde_t + c_t^2 x0_mse[t]
            (minimise Eq. 2.4 over var_t; cf. Bao et al. 2022, Analytic-DPM). ``x0_mse`` (T + 1,) is the
            denoiser's E||x_0 - x0_hat(x_t)||^2 / L; at t = 1 this is the decoder's best variance.
    """
    beta, alpha_bar = schedule.beta, schedule.alpha_bar
    beta_tilde = torch.zeros_like(beta)
    beta_tilde[1:] = (1 - alpha_bar[:-1]) / (1 - alpha_bar[1:]) * beta[1:]  # DDPM Eq. (7)
    if kind == "beta":
        return beta.clone()
    if kind == "beta_tilde":
        beta_tilde[1] = beta[1]
        return beta_tilde
    if kind == "optimal":
        if x0_mse is None:
            raise ValueError('reverse_variance(kind="optimal") needs x0_mse, the denoiser\'s error per sample')
        c = torch.zeros_like(beta)
        c[1:] = alpha_bar[:-1].sqrt() * beta[1:] / (1 - alpha_bar[1:])
        return beta_tilde + c**2 * x0_mse.double()
    raise ValueError(f"unknown reverse variance {kind!r}; choose one of {REVERSE_VARIANCES}")


def diffusion_term(
    x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, x0_hat: torch.Tensor, var: torch.Tensor, schedule: Schedule
) -> torch.Tensor:
    """L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || N(mu_tilde(x0_hat, x_t), var_t I)) per clip, Eqs. (2.2)-(2.4).

    Args:
        x0, x_t, x0_hat: (B, 1, L).  t: (B,) int64 in 2..T.  var: (T + 1,) reverse variances.
    Returns:
        (B,) nats.
    """
    mu_tilde, beta_tilde = q_posterior(x0, x_t, t, schedule)
    mu_theta, _ = q_posterior(x0_hat, x_t, t, schedule)
    kl = gaussian_kl(mu_tilde, beta_tilde, mu_theta, gather(var, t, x_t))
    return kl.flatten(1).sum(1)


def prior_term(cov: torch.Tensor, schedule: Schedule) -> float:
    """E_{x_0 ~ N(0, cov)} L_T = (alpha_bar_T tr(cov) + L sigma_T^2 - L - L log sigma_T^2) / 2, nats per clip."""
    L, T = cov.shape[0], schedule.T
    ab, s2 = schedule.alpha_bar[T].item(), schedule.sigma[T].item() ** 2
    return 0.5 * (ab * cov.double().trace().item() + L * s2 - L - L * math.log(s2))


def linear_eps_mse(W: torch.Tensor, cov: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """E||eps - W_t x_t||^2 per clip for x_0 ~ N(0, cov), for every t.

    eps - W_t x_t = (I - sigma_t W_t) eps - sqrt(alpha_bar_t) W_t x_0, so the expectation is
    ||I - sigma_t W_t||_F^2 + alpha_bar_t tr(W_t cov W_t^T).

    Args:
        W: (T + 1, L, L) eps-predictor matrices (row 0 ignored).  cov: (L, L).
    Returns:
        (T + 1,) float64; entry 0 is 0.
    """
    W, cov = W.double(), cov.double()
    eye = torch.eye(cov.shape[0], dtype=torch.float64)
    sigma, alpha_bar = schedule.sigma[:, None, None], schedule.alpha_bar
    resid = ((eye - sigma * W) ** 2).sum((1, 2)) + alpha_bar * torch.einsum("tij,jk,tik->t", W, cov, W)
    resid[0] = 0.0
    return resid


def linear_gaussian_elbo(W: torch.Tensor, cov: torch.Tensor, schedule: Schedule, kind: str = "optimal") -> dict:
    """The exact expected ELBO terms of a linear eps-predictor eps_hat = W_t x_t on Gaussian data x_0 ~ N(0, cov).

    Every term of Eq. (2.1) is then an analytic Gaussian expectation: the x_0 error is the eps error
    divided by SNR_t (Eq. 2.7), and the decoder is continuous, p(x_0 | x_1) = N(x0_hat(x_1), var_1 I).
    Args:
        W: (T + 1, L, L) matrices (``models.linear.gaussian_eps_matrix`` stacked gives the optimum).
        cov: (L, L) data covariance.  kind: reverse variance, see :func:`reverse_variance`.
    Returns:
        dict of float64 nats per clip: "prior" L_T, "diffusion" (T + 1,) with L_{t-1} at index t >= 2
        (0 elsewhere), "decoder" L_0, "var" (T + 1,) the variances used, and "total".
    """
    T, L = schedule.T, cov.shape[0]
    x0_mse = linear_eps_mse(W, cov, schedule) / schedule.snr.clamp(max=1e300) / L  # per sample, Eq. (2.7)
    var = reverse_variance(schedule, kind, x0_mse)
    t = torch.arange(2, T + 1)
    r = reverse_variance(schedule, "beta_tilde")[t] / var[t]
    diffusion = torch.zeros(T + 1, dtype=torch.float64)
    diffusion[t] = 0.5 * L * (r - 1 - torch.log(r)) + elbo_weight(t, schedule, var, "x0") * L * x0_mse[t]
    decoder = 0.5 * L * math.log(2 * math.pi * var[1].item()) + L * x0_mse[1].item() / (2 * var[1].item())
    prior = prior_term(cov, schedule)
    total = prior + diffusion.sum().item() + decoder
    return {"prior": prior, "diffusion": diffusion, "decoder": decoder, "var": var, "total": total}


def _interpolation_matrix(grid: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(len(points), len(grid)) float64 matrix M with M @ f(grid) = f(points) linearly interpolated (grid sorted)."""
    if len(grid) == 1:
        return torch.ones(len(points), 1, dtype=torch.float64)
    i = torch.searchsorted(grid, points, right=True).clamp(1, len(grid) - 1)  # points in [grid[i - 1], grid[i]]
    frac = ((points - grid[i - 1]) / (grid[i] - grid[i - 1]).clamp(min=1)).double().clamp(0, 1)
    M = torch.zeros(len(points), len(grid), dtype=torch.float64)
    rows = torch.arange(len(points))
    M[rows, i - 1], M[rows, i] = 1 - frac, frac
    return M


@torch.no_grad()
def diffusion_nll_bound(
    model,
    schedule: Schedule,
    x0: torch.Tensor,
    prediction: str = "v",
    n_t: int = 32,
    generator=None,
    k_exact: int = 20,
    n_eps: int = 2,
    n_pilot: int = 8,
    rho: float = 0.1,
) -> dict:
    """Monte Carlo DDPM bound (Eq. 2.1) on -log2 P(x0) of 16-bit clips, in bits per sample, with its standard error.

    L_T exactly. The small steps, whose terms are the largest, exactly: every t = 1..K (K = ``k_exact``; t = 1 is
    the decoder L_0, discretised as in DDPM Eq. 13, var_1 = beta_1), each averaged over ``n_eps`` noise draws.
    The rest, sum_{t=K+1}^T L_{t-1}, by importance sampling: ``n_t`` steps t_j ~ q per clip and

        S = 1/n sum_j L_{t_j - 1} / q(t_j),   E[S] = sum_t L_{t-1}   (unbiased for any q > 0 on K+1..T)

    The proposal follows the term's expected size, q(t) ~ w_t e(t) with w_t = (SNR_{t-1} - SNR_t) / 2 the ELBO
    weight of the squared x_0 error (Eq. 2.7; with var_t = beta_tilde_t the KL is exactly w_t ||x_0 - x0_hat||^2)
    and e(t) the network's x_0 error per sample from a pilot: ``n_pilot`` steps evenly spaced over K+1..T, one
    noise draw per clip, averaged over clips, linearly interpolated in t. A fraction ``rho`` of q is uniform
    (defensive mixture), so a pilot that underestimates a region cannot make the weights explode. The pilot's
    draws are independent of the estimate's, so S stays unbiased.

    Standard error per clip (estimator noise only): sum over exact t of s_t^2 / n_eps (the sample variance of the
    n_eps draws), plus var_j(L / q) / n_t. ``bound_summary`` turns it into the error of a mean over clips.
    t and eps are drawn on a CPU generator and moved to x0's device (the proposal is inverted on the device).
    Reverse variances beta_tilde (DDPM Sec. 3.2). The network is only ever asked for x0_hat (forward.to_x0_eps).
    Args:
        model: callable (x_t (B, 1, L), t (B,)) -> prediction.  x0: (B, 1, L) audio (quantised to 16 bits here).
        n_t: importance draws per clip (>= 2 unless K >= T).  k_exact: K.  n_eps: noise draws per exact t (>= 2).
        generator: CPU generator for t and eps (default: seeded with 0).
    Returns:
        dict of (B,) float64 bits per sample on x0's device: "prior", "diffusion", "decoder", "total", and the
        standard errors "diffusion_se", "decoder_se", "total_se" (L_T is exact). Cost per clip:
        n_eps K + n_pilot + n_t network calls.
    """
    g = generator or torch.Generator().manual_seed(0)
    x0 = quantize(x0, 16)
    B, L, T, dev = x0.shape[0], x0.shape[-1], schedule.T, x0.device
    K = min(k_exact, T)
    if n_eps < 2 or (K < T and n_t < 2):
        raise ValueError(f"n_eps = {n_eps} and n_t = {n_t} must both be >= 2 to estimate a standard error")
    var = reverse_variance(schedule, "beta_tilde")
    to_bits = 1 / (L * LOG2)
    ab_T = schedule.alpha_bar[T].double().item()
    prior = 0.5 * (ab_T * x0.double() ** 2 + (1 - ab_T) - 1 - math.log(1 - ab_T)).flatten(1).sum(1)  # L_T

    def draw(t):  # (B,) steps on x0's device -> x_t and the network's x0_hat
        x_t = q_sample(x0, t, torch.randn(x0.shape, generator=g).to(x0), schedule)  # float32 draws, as always
        return x_t, to_x0_eps(model(x_t, t), x_t, t, schedule, prediction)[0]

    def exact(step):  # mean over n_eps draws of the term at one step, and the variance of that mean
        t = torch.full((B,), step, device=dev)
        draws = []
        for _ in range(n_eps):
            x_t, x0_hat = draw(t)
            if step == 1:  # the decoder: mu_theta at t = 1 is x0_hat itself
                draws.append(discretized_gaussian_nll(x0, x0_hat, var[1].item()).flatten(1).sum(1))
            else:
                draws.append(diffusion_term(x0, x_t, t, x0_hat, var, schedule).double())
        draws = torch.stack(draws)  # (n_eps, B)
        return draws.mean(0), draws.var(0) / n_eps

    decoder, decoder_var = exact(1)
    diffusion = torch.zeros(B, dtype=torch.float64, device=dev)
    diffusion_var = torch.zeros_like(diffusion)
    for step in range(2, K + 1):
        mean, v = exact(step)
        diffusion, diffusion_var = diffusion + mean, diffusion_var + v
    if K < T:
        mean, v = _importance_tail(draw, x0, schedule, var, K, n_t, n_pilot, rho, g)
        diffusion, diffusion_var = diffusion + mean, diffusion_var + v
    out = {"prior": prior * to_bits, "diffusion": diffusion * to_bits, "decoder": decoder * to_bits}
    out["total"] = out["prior"] + out["diffusion"] + out["decoder"]
    out["diffusion_se"], out["decoder_se"] = diffusion_var.sqrt() * to_bits, decoder_var.sqrt() * to_bits
    out["total_se"] = (diffusion_var + decoder_var).sqrt() * to_bits
    return out


def _importance_tail(draw, x0, schedule, var, K, n, n_pilot, rho, g):
    """sum_{t=K+1}^T L_{t-1} per clip by importance sampling (see diffusion_nll_bound): (B,) mean and its variance."""
    B, T, dev = x0.shape[0], schedule.T, x0.device
    tail = torch.arange(K + 1, T + 1)  # (T - K,) the steps left to sample
    grid = torch.linspace(K + 1, T, max(n_pilot, 2)).round().long().unique()
    pilot = []
    for step in grid.tolist():  # the pilot: x_0 error per sample at each grid step, averaged over clips
        _, x0_hat = draw(torch.full((B,), step, device=dev))
        pilot.append((x0 - x0_hat).double().pow(2).mean())
    e = _interpolation_matrix(grid, tail).to(dev) @ torch.stack(pilot)  # (T - K,) error at every tail step
    size = elbo_weight(tail, schedule, var, "x0").to(dev) * e  # expected term size w_t e(t), Eq. (2.7)
    q = (1 - rho) * size / size.sum().clamp(min=1e-300) + rho / len(tail)
    q = q / q.sum()  # a no-op unless the pilot saw no error at all (then q is uniform)
    u = torch.rand(B, n, generator=g, dtype=torch.float64).to(dev)  # inverse-CDF draws of t ~ q, on the device
    idx = torch.searchsorted(q.cumsum(0), u).clamp(max=len(tail) - 1)  # (B, n)
    ratios = []
    for j in range(n):
        t = tail.to(dev)[idx[:, j]]
        x_t, x0_hat = draw(t)
        ratios.append(diffusion_term(x0, x_t, t, x0_hat, var, schedule).double() / q[idx[:, j]])  # L / q(t)
    ratios = torch.stack(ratios)  # (n, B)
    return ratios.mean(0), ratios.var(0) / n


def bound_summary(bound: dict) -> dict:
    """Means over clips of a ``diffusion_nll_bound`` result, with two standard errors of the mean total.

    Returns floats: the mean of every term; "se_mc", the estimator's error of the mean of these clips,
    sqrt(sum_i se_i^2) / B; "se_clips", the error of the mean as an estimate over the data distribution,
    std_i(total_i) / sqrt(B) (it contains the estimator's noise too).
    """
    B = len(bound["total"])
    out = {k: bound[k].mean().item() for k in ("prior", "diffusion", "decoder", "total")}
    out["se_mc"] = bound["total_se"].pow(2).sum().sqrt().item() / B
    out["se_clips"] = bound["total"].std().item() / math.sqrt(B) if B > 1 else float("nan")
    return out
