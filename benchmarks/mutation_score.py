"""Mutation benchmark: does every check fail when a plausible wrong formula goes into the package?

Each :class:`Mutant` below replaces one exact snippet of one package file with a wrong formula that a
careful reader might write (an off-by-one index, a missing square root, swapped terms, a wrong sign or
constant, a formula wrong only for T != 1000, only for v-prediction, only for a conditional net...).
For each mutant the benchmark

1. copies the package, the tests, the notebooks and the pytest configuration to a temporary folder
   (``data/checkpoints``, ``data/results`` and ``data/fsdd`` are linked, not copied) and applies the mutant there;
2. runs the unit tests that cover the mutated module with that copy first on ``PYTHONPATH``, so the copy
   shadows the editable install; a pytest plugin records which ``audiodiff_minimal`` modules were
   imported, and the run is refused unless all of them come from the copy;
3. runs the notebooks that teach the formula (quick mode, nbval lax) with a probe cell inserted first
   that asserts the kernel imports the copy, and names each failing ``# CHECK:`` cell;
4. prints a table (mutant, file, the unit tests and the notebook checks that kill it, verdict) and a
   score.

A baseline run with no mutant comes first: it must pass everything (a failure there is reported, and
that test or cell is not counted as a kill). Adding a mutant is one line in ``MUTANTS``; a mutant whose
old snippet no longer occurs exactly once is reported as stale.

Usage (from the repository root; see benchmarks/README.md)::

    python benchmarks/mutation_score.py --list
    python benchmarks/mutation_score.py --only q_sample_alpha_bar_t_minus_1
    python benchmarks/mutation_score.py --no-notebooks            # unit tests only, a few minutes
    python benchmarks/mutation_score.py --jobs 2 --markdown        # everything, README table
"""

# ruff: noqa: E501  (one mutant per line, however long: adding a mutant is one line)
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "audiodiff_minimal"


@dataclass(frozen=True)
class Mutant:
    """One wrong formula: replace ``old`` (must occur exactly once in ``file``) by ``new``.

    Args:
        name: short identifier (``--only NAME``).
        file: path inside the package, e.g. ``"forward.py"`` or ``"models/linear.py"``.
        old, new: the exact snippet and its replacement.
        why: the mistake in words (what a careful reader might write).
        notebooks: notebooks (names without ``.ipynb``) that teach the formula and must also kill it.
        tests: test files (in ``tests/``) to run; default ``FILE_TESTS[file]``.
    """

    name: str
    file: str
    old: str
    new: str
    why: str
    notebooks: tuple[str, ...] = ()
    tests: tuple[str, ...] | None = None

    def test_files(self) -> tuple[str, ...]:
        return self.tests if self.tests is not None else FILE_TESTS[self.file]


# The unit tests that cover each module (run for every mutant of that module).
FILE_TESTS = {
    "schedules.py": ("test_schedules.py",),
    "forward.py": ("test_forward.py",),
    "losses.py": ("test_losses.py",),
    "models/linear.py": ("test_linear.py",),
    "spectral.py": ("test_spectral.py",),
    "data.py": ("test_data.py",),
    "guidance.py": ("test_guidance.py",),
    "evaluate.py": ("test_evaluate.py",),
    "samplers.py": ("test_samplers.py",),
    "edm.py": ("test_edm.py",),
    "flow.py": ("test_flow.py",),
    "models/unet1d.py": ("test_unet.py",),
}

NB01, NB02, NB03 = "01_noise_process", "02_elbo_and_loss", "03_toy_linear_model"
NB05, NB05S = "05_sampling", "solutions/05_sampling_solutions"
NB06 = "06_conditioning_and_guidance"
NB04, NB04S = "04_unet_on_gpu", "solutions/04_unet_on_gpu_solutions"
NB01S = "solutions/01_noise_process_solutions"
NB09 = "09_continuous_time"

# fmt: off
MUTANTS = [
    # ---------------------------------------------------------------- schedules.py
    Mutant("cosine_off_by_one", "schedules.py", "u = torch.arange(T + 1, dtype=torch.float64) / T", "u = torch.arange(1, T + 2, dtype=torch.float64) / T", "cosine schedule indexed from 1: alpha_bar_t = f(t + 1) / f(1)", (NB01,)),
    Mutant("cosine_hardcoded_1000", "schedules.py", "u = torch.arange(T + 1, dtype=torch.float64) / T", "u = torch.arange(T + 1, dtype=torch.float64) / 1000", "cosine u = t / 1000: right only for T = 1000", (NB01, NB01S)),
    Mutant("linear_hardcoded_1000", "schedules.py", "scale = 1000.0 / T", "scale = 1.0", "linear betas not rescaled by 1000 / T: right only for T = 1000", (NB01, NB01S)),
    Mutant("cosine_unnormalised", "schedules.py", "f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2", "f0 = 1.0", "continuous cosine alpha_bar not divided by f(0)"),
    Mutant("sigma_no_sqrt", "schedules.py", "return torch.sqrt(1.0 - self.alpha_bar)", "return 1.0 - self.alpha_bar", "sigma_t = 1 - alpha_bar_t (a variance used as a std)", (NB01,)),
    Mutant("snr_inverted", "schedules.py", "return self.alpha_bar / (1.0 - self.alpha_bar)", "return (1.0 - self.alpha_bar) / self.alpha_bar", "SNR = sigma^2 / alpha_bar (noise-to-signal)", (NB01,)),
    Mutant("snr_sqrt_alpha_bar", "schedules.py", "return self.alpha_bar / (1.0 - self.alpha_bar)", "return self.alpha_bar.sqrt() / (1.0 - self.alpha_bar)", "SNR = sqrt(alpha_bar) / sigma^2 (amplitude over power)", (NB01,)),
    # ---------------------------------------------------------------- forward.py
    Mutant("q_sample_alpha_bar_t_minus_1", "forward.py", "return gather(schedule.alpha_bar, t, x0).sqrt() * x0", "return gather(schedule.alpha_bar, t - 1, x0).sqrt() * x0", "q_sample reads alpha_bar[t - 1] (index in code != index in math)", (NB01,)),
    Mutant("q_sample_no_sqrt", "forward.py", "return gather(schedule.alpha_bar, t, x0).sqrt() * x0", "return gather(schedule.alpha_bar, t, x0) * x0", "x_t = alpha_bar_t x_0 + sigma_t eps (missing square root)", (NB01,)),
    Mutant("q_sample_sigma_squared", "forward.py", "+ gather(schedule.sigma, t, x0) * eps", "+ gather(schedule.sigma, t, x0) ** 2 * eps", "noise scaled by the variance 1 - alpha_bar_t instead of the std", (NB01,)),
    Mutant("q_step_beta_no_sqrt", "forward.py", "gather(schedule.beta, t, x_prev).sqrt() * eps", "gather(schedule.beta, t, x_prev) * eps", "one step adds beta_t eps instead of sqrt(beta_t) eps", (NB01,)),
    Mutant("q_step_alpha_bar", "forward.py", "return gather(schedule.alpha, t, x_prev).sqrt() * x_prev", "return gather(schedule.alpha_bar, t, x_prev).sqrt() * x_prev", "one step scales x_{t-1} by sqrt(alpha_bar_t) instead of sqrt(alpha_t)", (NB01,)),
    Mutant("posterior_coefs_swapped", "forward.py", "return coef_x0 * x0 + coef_xt * x_t, beta_tilde", "return coef_xt * x0 + coef_x0 * x_t, beta_tilde", "posterior mean with the x_0 and x_t coefficients swapped", (NB02,)),
    Mutant("posterior_mean_no_sqrt", "forward.py", "coef_x0 = ab_prev.sqrt() * beta_t / (1 - ab_t)", "coef_x0 = ab_prev * beta_t / (1 - ab_t)", "x_0 coefficient alpha_bar_{t-1} beta_t / (1 - alpha_bar_t): missing square root", (NB02,)),
    Mutant("posterior_var_sqrt", "forward.py", "beta_tilde = (1 - ab_prev) / (1 - ab_t) * beta_t  #", "beta_tilde = ((1 - ab_prev) / (1 - ab_t) * beta_t).sqrt()  #", "posterior std returned where the variance is meant", (NB02,)),
    Mutant("posterior_var_ratio_inverted", "forward.py", "beta_tilde = (1 - ab_prev) / (1 - ab_t) * beta_t  #", "beta_tilde = (1 - ab_t) / (1 - ab_prev) * beta_t  #", "beta_tilde = (1 - alpha_bar_t) / (1 - alpha_bar_{t-1}) beta_t", (NB02,)),
    Mutant("posterior_alpha_bar_t_for_t_minus_1", "forward.py", "ab_t, ab_prev = gather(alpha_bar, t, x_t), gather(alpha_bar, t - 1, x_t)", "ab_t, ab_prev = gather(alpha_bar, t, x_t), gather(alpha_bar, t, x_t)", "posterior uses alpha_bar_t where alpha_bar_{t-1} is meant", (NB02,)),
    Mutant("eps_to_x0_no_sqrt", "forward.py", "return (x_t - gather(schedule.sigma, t, x_t) * eps) / gather(schedule.alpha_bar, t, x_t).sqrt()", "return (x_t - gather(schedule.sigma, t, x_t) * eps) / gather(schedule.alpha_bar, t, x_t)", "x_0 = (x_t - sigma eps) / alpha_bar_t: missing square root", (NB03,)),
    Mutant("x0_to_eps_sigma_squared", "forward.py", "* x0) / gather(schedule.sigma, t, x_t)", "* x0) / gather(schedule.sigma, t, x_t) ** 2", "eps from x_0 divides by sigma_t^2: wrong only for x0-prediction"),
    Mutant("v_target_sign", "forward.py", "return gather(schedule.alpha_bar, t, x0).sqrt() * eps - gather(schedule.sigma, t, x0) * x0", "return gather(schedule.alpha_bar, t, x0).sqrt() * eps + gather(schedule.sigma, t, x0) * x0", "v = sqrt(alpha_bar) eps + sigma x_0 (sign): wrong only for v-prediction"),
    Mutant("v_to_x0_eps_sign", "forward.py", "return a * x_t - s * v, s * x_t + a * v", "return a * x_t + s * v, s * x_t - a * v", "v conversion with the signs flipped: wrong only for v-prediction"),
    # ---------------------------------------------------------------- losses.py
    Mutant("kl_var_ratio_inverted", "losses.py", "torch.log(var2 / var1)", "torch.log(var1 / var2)", "Gaussian KL with log(var1 / var2)", (NB02,)),
    Mutant("kl_mean_term_over_var1", "losses.py", "(var1 + (mean1 - mean2) ** 2) / var2", "var1 / var2 + (mean1 - mean2) ** 2 / var1", "Gaussian KL divides the mean term by the wrong variance", (NB02,)),
    Mutant("decoder_bin_width_double", "losses.py", "(x0 - 0.5 / half - mean) / std", "(x0 - 1.0 / half - mean) / std", "discretized decoder: lower bin edge a whole step below x_0", (NB02,)),
    Mutant("decoder_bin_width_half", "losses.py", "half = 2 ** (bits - 1)\n    x0, mean", "half = 2**bits\n    x0, mean", "discretized decoder with bin width 1 / 2^bits instead of 2 / 2^bits", (NB02,)),
    Mutant("decoder_top_edge", "losses.py", "x0 >= 1 - 1.5 / half", "x0 >= 1 - 0.5 / half", "discretized decoder misses the top bin (the grid ends at 1 - 2^-15, not 1)", (NB02,)),
    Mutant("decoder_bottom_edge", "losses.py", "x0 <= -1 + 0.5 / half", "x0 < -1", "discretized decoder's bottom bin closed at -1 - 2^-16 instead of reaching -inf", (NB02,)),
    Mutant("bits_log10", "losses.py", "LOG2 = math.log(2.0)", "LOG2 = math.log(10.0)", "bits per sample converted with ln 10", (NB02,)),
    Mutant("bits_without_length", "losses.py", "return float(nll_nats) / (length * LOG2)", "return float(nll_nats) / LOG2", "bits per clip reported as bits per sample", (NB02,)),
    Mutant("elbo_weight_eps_snr", "losses.py", '"eps": 1 / schedule.snr[t]', '"eps": schedule.snr[t]', "eps errors weighted by SNR_t instead of 1 / SNR_t", (NB02,)),
    Mutant("elbo_weight_v_sigma", "losses.py", '"v": schedule.sigma[t] ** 2', '"v": schedule.sigma[t]', "v-prediction weight sigma_t instead of sigma_t^2: wrong only for v", (NB02,)),
    Mutant("eps_weight_no_alpha", "losses.py", "beta**2 / (2 * var[t] * alpha * (1 - alpha_bar))", "beta**2 / (2 * var[t] * (1 - alpha_bar))", "DDPM Eq. (12) weight without alpha_t", (NB02,)),
    Mutant("beta_tilde_index", "losses.py", "beta_tilde[1:] = (1 - alpha_bar[:-1]) / (1 - alpha_bar[1:]) * beta[1:]", "beta_tilde[1:] = (1 - alpha_bar[1:]) / (1 - alpha_bar[:-1].clamp(max=1 - 1e-12)) * beta[1:]", "reverse variance beta_tilde with the alpha_bar indices swapped", (NB02,)),
    Mutant("prior_term_no_alpha_bar", "losses.py", "0.5 * (ab * cov.double().trace().item()", "0.5 * (cov.double().trace().item()", "prior KL forgets alpha_bar_T on the data variance", (NB02,)),
    Mutant("diffusion_term_true_x0", "losses.py", "mu_theta, _ = q_posterior(x0_hat, x_t, t, schedule)", "mu_theta, _ = q_posterior(x0, x_t, t, schedule)", "the model's mean built from the true x_0: the bound keeps only the variance term", (NB02,)),
    Mutant("elbo_x0_mse_sqrt_snr", "losses.py", "/ schedule.snr.clamp(max=1e300) / L", "/ schedule.snr.clamp(max=1e300).sqrt() / L", "x_0 error = eps error / sqrt(SNR_t) (a std ratio applied to a squared error)", (NB02, NB03)),
    Mutant("elbo_decoder_no_2pi", "losses.py", "decoder = 0.5 * L * math.log(2 * math.pi * var[1].item())", "decoder = 0.5 * L * math.log(var[1].item())", "Gaussian decoder NLL without the log(2 pi)", (NB02, NB03)),
    Mutant("entropy_without_e", "losses.py", "L * math.log(2 * math.pi * math.e)", "L * math.log(2 * math.pi)", "Gaussian entropy (L log(2 pi) + log det) / 2: the log-density at the mean, not the entropy", (NB02, NB03)),
    Mutant("linear_eps_mse_no_sigma", "losses.py", "resid = ((eye - sigma * W) ** 2)", "resid = ((eye - W) ** 2)", "E||eps - W x_t||^2 with (I - W) instead of (I - sigma_t W)", (NB02, NB03)),
    Mutant("bound_is_forgets_1_over_q", "losses.py", "var, schedule).double() / q[idx[:, j]])  # L / q(t)", "var, schedule).double())  # L / q(t)", "importance sampling without the weight 1 / q(t): the mean term, not the sum over t"),
    Mutant("bound_is_sum_not_mean", "losses.py", "return ratios.mean(0), ratios.var(0) / n", "return ratios.sum(0), ratios.var(0) / n", "importance weights 1 / q(t) without the 1 / n: the sum of n draws"),
    Mutant("bound_is_se_without_n", "losses.py", "return ratios.mean(0), ratios.var(0) / n", "return ratios.mean(0), ratios.var(0)", "standard error of an n-draw mean reported as the spread of one draw"),
    Mutant("bound_exact_se_without_n_eps", "losses.py", "return draws.mean(0), draws.var(0) / n_eps", "return draws.mean(0), draws.var(0)", "exact steps' variance not divided by the number of noise draws"),
    Mutant("bound_tail_counts_K_twice", "losses.py", "tail = torch.arange(K + 1, T + 1)  #", "tail = torch.arange(K, T + 1)  #", "importance tail starts at K, which the exact part already summed"),
    Mutant("bound_exact_stops_before_K", "losses.py", "for step in range(2, K + 1):", "for step in range(2, K):", "exact part sums t = 2..K-1 while the tail starts at K + 1: t = K is lost"),
    Mutant("bound_proposal_without_weight", "losses.py", 'size = elbo_weight(tail, schedule, var, "x0").to(dev) * e', "size = e", "proposal from the x_0 error alone, without the ELBO weight w_t: unbiased but wasteful"),
    Mutant("bound_q_index_off_by_one", "losses.py", "var, schedule).double() / q[idx[:, j]])  # L / q(t)", "var, schedule).double() / q[(idx[:, j] - 1).clamp(min=0)])  # L / q(t)", "1 / q read one step early (index of t versus index of t - 1)"),
    # ---------------------------------------------------------------- models/linear.py
    Mutant("w_star_sqrt_alpha_bar", "models/linear.py", "return sigma * torch.linalg.inv(ab * cov.double() + sigma**2 * eye)", "return sigma * torch.linalg.inv(ab**0.5 * cov.double() + sigma**2 * eye)", "W* = sigma (sqrt(alpha_bar) Sigma + sigma^2 I)^-1", (NB03,)),
    Mutant("w_star_no_alpha_bar", "models/linear.py", "return sigma * torch.linalg.inv(ab * cov.double() + sigma**2 * eye)", "return sigma * torch.linalg.inv(cov.double() + sigma**2 * eye)", "W* = sigma (Sigma + sigma^2 I)^-1 (no alpha_bar)", (NB03,)),
    Mutant("x0_filter_no_sqrt", "models/linear.py", "return ab**0.5 * cov @ torch.linalg.inv", "return ab * cov @ torch.linalg.inv", "Wiener x_0 filter alpha_bar Sigma (...)^-1: missing square root", (NB03,)),
    Mutant("wiener_gain_no_alpha_bar", "models/linear.py", "gain = sigma / (ab * S + sigma**2)", "gain = sigma / (S + sigma**2)", "per-frequency Wiener gain without alpha_bar", (NB03,)),
    Mutant("linear_eps_weight_t_minus_1", "models/linear.py", "return torch.bmm(x_t, self.weight[t].transpose(1, 2))", "return torch.bmm(x_t, self.weight[t - 1].transpose(1, 2))", "LinearEps reads weight[t - 1] on unstratified batches (sampling)", (NB03,)),
    Mutant("linear_eps_stratified_off_by_one", "models/linear.py", "@ self.weight[1:].transpose(1, 2)", "@ self.weight[:-1].transpose(1, 2)", "LinearEps reads weight[t - 1] on stratified batches (training)", (NB03,)),
    # ---------------------------------------------------------------- spectral.py
    Mutant("spectral_snr_no_alpha_bar", "spectral.py", "snr = schedule.snr.numpy()[:, None]", "snr = (1 / schedule.sigma**2).numpy()[:, None]", "x_t's spectrum as S + sigma^2 (no alpha_bar)", (NB01,)),
    Mutant("spectral_snr_sqrt_alpha_bar", "spectral.py", "snr = schedule.snr.numpy()[:, None]", "snr = (schedule.alpha_bar.sqrt() / schedule.sigma**2).numpy()[:, None]", "x_t's spectrum as sqrt(alpha_bar) S + sigma^2", (NB01,)),
    Mutant("periodogram_amplitude_window", "spectral.py", "window /= np.sqrt(np.mean(window**2))  # unit power", "window /= np.mean(window)  # unit power", "window normalised to unit mean (amplitude) instead of unit power", (NB01,)),
    Mutant("cutoff_off_by_one", "spectral.py", "last = np.where(above.any(axis=1), freqs.size - 1 - np.argmax", "last = np.where(above.any(axis=1), freqs.size - 2 - np.argmax", "cut-off one bin below the last bin above threshold", (NB01,)),
    # ---------------------------------------------------------------- data.py (ARProcess)
    Mutant("ar_variance_ar1_formula", "data.py", "gain = (1 - a2) / ((1 + a2) * ((1 - a2) ** 2 - a1**2))", "gain = 1 / (1 - a1**2 - a2**2)", "AR(2) variance from sum of squared coefficients", (NB01, NB03)),
    Mutant("ar_gamma1_yule_walker", "data.py", "gamma[1] = a1 / (1 - a2) * gamma[0]", "gamma[1] = a1 * gamma[0]", "Yule-Walker lag 1 without the 1 / (1 - a2)", (NB03,)),
    Mutant("ar_spectrum_no_square", "data.py", "np.abs(1 - a1 * z - a2 * z**2) ** 2", "np.abs(1 - a1 * z - a2 * z**2)", "AR spectrum sigma_e^2 / |A(z)| (amplitude response)", (NB01,)),
    Mutant("ar_spectrum_per_hz", "data.py", "return self.noise_std**2 / np.abs(", "return self.noise_std**2 / (2 * np.pi) / np.abs(", "AR spectrum per Hz-ish (divided by 2 pi) against the per-radian convention", (NB01,)),
    Mutant("ar_radius_not_squared", "data.py", "return 2 * self.radius * math.cos(theta), -(self.radius**2)", "return 2 * self.radius * math.cos(theta), -self.radius", "AR(2) a2 = -r instead of -r^2"),
    # ---------------------------------------------------------------- guidance.py
    Mutant("cfg_swapped_cond_uncond", "guidance.py", "return uncond + scale * (cond - uncond)", "return cond + scale * (uncond - cond)", "CFG with cond and uncond swapped", (NB06,)),
    Mutant("cfg_scale_on_wrong_term", "guidance.py", "return uncond + scale * (cond - uncond)", "return scale * uncond + (cond - uncond)", "CFG scale applied to the unconditional term", (NB06,)),
    Mutant("cfg_w_for_s", "guidance.py", "return uncond + scale * (cond - uncond)", "return cond + scale * (cond - uncond)", "CFG with the paper's w where the code's s = 1 + w is meant", (NB06,)),
    Mutant("cfg_batch_order_swapped", "guidance.py", "both = torch.cat([c, torch.full_like(c, null_label)])", "both = torch.cat([torch.full_like(c, null_label), c])", "null labels first in the 2B batch: wrong only for a conditional net", (NB06,)),
    Mutant("drop_labels_keep_rate", "guidance.py", "drop = torch.rand(labels.shape, generator=generator) < p_uncond", "drop = torch.rand(labels.shape, generator=generator) > p_uncond", "label dropout drops with probability 1 - p_uncond", (NB06,)),
    Mutant("note_label_transposed", "data.py", "return pitch * len(TIMBRE_NAMES) + timbre", "return timbre * len(SCALE_MIDI) + pitch", "class index timbre-major while label_to_note is pitch-major", (NB06,), tests=("test_data.py", "test_guidance.py")),
    # ---------------------------------------------------------------- evaluate.py
    Mutant("frechet_sqrtm_separately", "evaluate.py", "covmean = scipy.linalg.sqrtm(cov1 @ cov2)", "covmean = scipy.linalg.sqrtm(cov1) @ scipy.linalg.sqrtm(cov2)", "(C1 C2)^(1/2) as C1^(1/2) C2^(1/2): right only for commuting covariances"),
    Mutant("frechet_no_sqrtm", "evaluate.py", "covmean = scipy.linalg.sqrtm(cov1 @ cov2)", "covmean = cov1 @ cov2", "Frechet distance without the matrix square root"),
    Mutant("frechet_trace_factor", "evaluate.py", "- 2 * np.trace(covmean)", "- np.trace(covmean)", "Frechet distance with tr(C1 C2)^(1/2) once instead of twice"),
    Mutant("entropy_natural_log", "evaluate.py", "return float(-(p * np.log2(p)).sum()) + 0.0", "return float(-(p * np.log(p)).sum()) + 0.0", "entropy in nats reported as bits"),
    Mutant("cents_per_semitone", "evaluate.py", "return 100 * (midi - scale[idx]), idx", "return 1200 * (midi - scale[idx]), idx", "1200 cents per semitone (per octave meant)"),
    Mutant("flatness_inverted", "evaluate.py", "flat = np.exp(np.log(P).mean(-1)) / P.mean(-1)", "flat = P.mean(-1) / np.exp(np.log(P).mean(-1))", "spectral flatness as arithmetic over geometric mean"),
    Mutant("flatness_unweighted", "evaluate.py", "return (flat * energy).sum(-1) / energy.sum(-1)", "return flat.mean(-1)", "flatness averaged over frames without energy weights (silent frames count)"),
    Mutant("pitch_flat_harmonic_weights", "evaluate.py", "score += 0.8 ** (k - 1) * np.where", "score += 1.0 * np.where", "harmonic summation with equal weights (sub-octaves win)"),
    Mutant("pitch_acc_ignores_cents", "evaluate.py", "(np.abs(cents) <= 50) & (note == pitch.numpy())", "(note == pitch.numpy())", "requested-pitch accuracy without the 50-cent in-tune condition"),
    # ---------------------------------------------------------------- metrics.py, models/classifier.py (issue 12)
    Mutant('kid_biased_diagonal', 'metrics.py', 'within_a = (k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))', 'within_a = k_aa.sum() / n**2', 'KID with the diagonal k(a_i, a_i) kept in the within-set mean (the biased V-statistic)', tests=("test_metrics.py",)),
    Mutant('is_kl_swapped', 'metrics.py', 'return float(np.exp(_kl_rows(p, p.mean(0)).mean()))', 'return float(np.exp(_kl_rows(np.broadcast_to(p.mean(0), p.shape), p).mean()))', 'IS with KL(p(y) || p(y | x)): marginal and conditional swapped', tests=("test_metrics.py",)),
    Mutant('mis_with_diagonal', 'metrics.py', 'return float(np.exp((kl.sum() - np.trace(kl)) / (n * (n - 1))))', 'return float(np.exp(kl.mean()))', "modified IS averaged over all pairs, x = x' included", tests=("test_metrics.py",)),
    Mutant('am_kl_reversed', 'metrics.py', '_kl_rows(p_r[None], p.mean(0)[None])[0]', '_kl_rows(p.mean(0)[None], p_r[None])[0]', 'AM score with KL(p_g(y) || p_r(y)) instead of KL(p_r(y) || p_g(y))', tests=("test_metrics.py",)),
    Mutant('knn_radius_self', 'metrics.py', 'radius = np.sort(d_ref, axis=1)[:, k]', 'radius = np.sort(d_ref, axis=1)[:, k - 1]', 'k-NN radius counts the point itself as its first neighbour', tests=("test_metrics.py",)),
    Mutant('precision_recall_swapped', 'metrics.py', 'return float(manifold_membership(real, fake, k).mean()), float(manifold_membership(fake, real, k).mean())', 'return float(manifold_membership(fake, real, k).mean()), float(manifold_membership(real, fake, k).mean())', "precision and recall swapped (which set's manifold is tested)", tests=("test_metrics.py",)),
    Mutant('miller_madow_nats', 'metrics.py', '(len(p) - 1) / (2 * N * np.log(2))', '(len(p) - 1) / (2 * N)', 'Miller-Madow correction in nats added to an entropy in bits', tests=("test_metrics.py",)),
    Mutant('miller_madow_all_bins', 'metrics.py', '(len(p) - 1) / (2 * N * np.log(2))', '(n_classes - 1) / (2 * N * np.log(2))', 'Miller-Madow with every bin counted, not the occupied ones', tests=("test_metrics.py",)),
    Mutant('in_tune_chance_unclipped', 'metrics.py', 'edges = sorted((max(lo, 100 * m - tolerance_cents), min(hi, 100 * m + tolerance_cents))', 'edges = sorted((100 * m - tolerance_cents, 100 * m + tolerance_cents)', 'chance of in tune as 8 notes x 100 c / 1200 c (the top end not clipped): 0.625, not 7/12', tests=("test_metrics.py",)),
    Mutant('bootstrap_quantiles_wrong', 'metrics.py', 'lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])', 'lo, hi = np.quantile(reps, [level / 2, 1 - level / 2])', 'bootstrap interval at quantiles level / 2 and 1 - level / 2', tests=("test_metrics.py",)),
    Mutant('bias_correct_sign', 'metrics.py', 'shift = value - reps.mean() if bias_correct else 0.0', 'shift = reps.mean() - value if bias_correct else 0.0', 'bootstrap bias correction with the sign flipped', tests=("test_metrics.py",)),
    Mutant('drift_in_semitones', 'metrics.py', 'cents_track = 1200 * np.log2(f0 / median[:, None])', 'cents_track = 12 * np.log2(f0 / median[:, None])', 'pitch drift in semitones reported as cents', tests=("test_metrics.py",)),
    # ---------------------------------------------------------------- metrics.py (speech), classical.py (issue 14)
    Mutant('si_sdr_no_projection', 'metrics.py', 'a = (s_hat * s).sum(-1, keepdims=True) / (s * s).sum(-1, keepdims=True)', 'a = np.ones_like(s[..., :1])', 'SI-SDR without the optimal scale: the plain SNR |s|^2 / |s_hat - s|^2, which changes when the estimate is scaled', tests=("test_speech_metrics.py",), notebooks=("10_real_speech",)),
    Mutant('si_sdr_scale_by_estimate', 'metrics.py', 'a = (s_hat * s).sum(-1, keepdims=True) / (s * s).sum(-1, keepdims=True)', 'a = (s_hat * s).sum(-1, keepdims=True) / (s_hat * s_hat).sum(-1, keepdims=True)', 'SI-SDR scale <s_hat, s> / |s_hat|^2 (normalised by the estimate, not the reference)', tests=("test_speech_metrics.py",), notebooks=("10_real_speech",)),
    Mutant('lsd_20_log10_of_power', 'metrics.py', 'db_hat, db = (10 * np.log10(np.maximum(p, floor)) for p in power)', 'db_hat, db = (20 * np.log10(np.maximum(p, floor)) for p in power)', 'log-spectral distance with 20 log10 of a power (dB of an amplitude applied to |X|^2): twice the distance', tests=("test_speech_metrics.py",), notebooks=("10_real_speech",)),
    Mutant('wiener_gain_noise_over_total', 'classical.py', 'return signal_power / (signal_power + noise_power)', 'return noise_power / (signal_power + noise_power)', 'Wiener gain N / (S + N): passes the noise, removes the speech', tests=("test_classical.py",), notebooks=("10_real_speech",)),
    Mutant('subtraction_of_amplitudes', 'classical.py', 'return np.sqrt(np.maximum(1 - noise_power / noisy_power, floor))', 'return np.maximum(1 - np.sqrt(noise_power / noisy_power), np.sqrt(floor))', 'magnitude subtraction |Y| - sqrt(N) where the docstring promises power subtraction |Y|^2 - N', tests=("test_classical.py",), notebooks=("10_real_speech",)),
    Mutant('min_stats_no_bias_factor', 'classical.py', 'return np.quantile(noisy_power, q, axis=-1) / -np.log(1 - q)', 'return np.quantile(noisy_power, q, axis=-1)', 'minimum statistics without the bias factor: the 10th percentile of N Exp(1) is 0.105 N', tests=("test_classical.py",), notebooks=("10_real_speech",)),
    Mutant('griffin_lim_mel_as_power', 'classical.py', 'n_fft=cfg.n_fft, power=1.0,', 'n_fft=cfg.n_fft, power=2.0,', 'Griffin-Lim reads the magnitude mel as a power mel (the librosa default, power=2)', tests=("test_classical.py",), notebooks=("10_real_speech",)),
    Mutant('augment_snr_amplitude', 'models/classifier.py', 'noise_std = torch.sqrt(power / 10 ** (snr / 10))', 'noise_std = torch.sqrt(power) / 10 ** (snr / 10)', 'noise std from the SNR in dB read as a power ratio on the amplitude', tests=("test_classifier.py",)),
    Mutant('log_mel_no_max', 'models/classifier.py', 'S = S - S.amax(dim=(1, 2), keepdim=True)', 'S = S - S.mean()', "log-mel normalised by the batch mean, not each clip's maximum (the gain matters)", tests=("test_classifier.py",)),
    # ---------------------------------------------------------------- speech.py, the U-Net's conditioning input (issue 14)
    Mutant('mel_upsample_floor', 'speech.py', 'frame = ((n + hop // 2) // hop).clamp(max=m.shape[-1] - 1)', 'frame = (n // hop).clamp(max=m.shape[-1] - 1)', 'sample n takes frame floor(n / hop): half a hop late for centred frames', tests=("test_speech.py",), notebooks=("10_real_speech",)),
    Mutant('mel_upsample_repeat', 'speech.py', 'return m[..., frame]', 'return m.repeat_interleave(hop, dim=-1)[..., :length]', 'frames repeated hop times from sample 0 (repeat_interleave, no centre offset)', tests=("test_speech.py",), notebooks=("10_real_speech",)),
    Mutant('snr_20_log10_of_power', 'speech.py', 'g = torch.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))', 'g = torch.sqrt(p_clean / (p_noise * 10 ** (snr_db / 20)))', 'SNR of a power ratio read with 20 log10 (the amplitude rule): half the asked dB', tests=("test_speech.py",), notebooks=("10_real_speech",)),
    Mutant('snr_power_ratio_on_amplitude', 'speech.py', 'g = torch.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))', 'g = torch.sqrt(p_clean / p_noise) / 10 ** (snr_db / 10)', 'the noise amplitude scaled by 10^(-snr/10), a power ratio applied to amplitudes', tests=("test_speech.py",), notebooks=("10_real_speech",)),
    Mutant('pink_power_one_over_f2', 'speech.py', 'spectrum = spectrum * torch.where(f > 0, f.clamp_min(1e-12) ** -0.5, 0.0)', 'spectrum = spectrum * torch.where(f > 0, f.clamp_min(1e-12) ** -1.0, 0.0)', 'pink noise shaped by 1/f in amplitude: power 1/f^2 (brown), not 1/f', tests=("test_speech.py",), notebooks=("10_real_speech",)),
    Mutant('log_mel_power_2', 'speech.py', 'mel = mel_filters(cfg).to(x.device, x.dtype) @ spec.abs()', 'mel = mel_filters(cfg).to(x.device, x.dtype) @ spec.abs() ** 2', 'a power mel (librosa default power=2) where the vocoder and Griffin-Lim expect magnitude', tests=("test_speech.py",), notebooks=("10_real_speech",)),
    Mutant('log_mel_floor_added', 'speech.py', 'return torch.log(mel.clamp_min(cfg.floor))', 'return torch.log(mel + cfg.floor)', 'log(mel + floor) instead of log(max(mel, floor)): quiet frames shifted', tests=("test_speech.py",), notebooks=("10_real_speech",)),
    Mutant('rms_as_peak', 'speech.py', 'current = x.pow(2).mean(-1, keepdim=True).sqrt()', 'current = x.abs().amax(-1, keepdim=True)', 'clips scaled to a peak of 0.05, not an RMS of 0.05', tests=("test_speech.py",), notebooks=("10_real_speech",)),
    Mutant('unet_cond_dropped', 'models/unet1d.py', 'x_t = torch.cat([x_t, cond.to(x_t.dtype)], dim=1)', 'x_t = torch.cat([x_t, torch.zeros_like(cond)], dim=1)', 'the conditioning input concatenated as zeros: shapes fit, the net never sees it', tests=("test_speech.py",), notebooks=("10_real_speech",)),
    Mutant('split_test_index_in_train', 'speech.py', '"train": lambda u: u.speaker != HELD_OUT_SPEAKER and u.index not in TEST_INDICES,', '"train": lambda u: u.speaker != HELD_OUT_SPEAKER and u.index >= 4,', 'training split from index 4, off by one: index 4 of every speaker is in train and in test', ("10_real_speech",), tests=("test_speech.py",)),
    Mutant('enhance_not_scaled_back', 'generate.py', 'return x0[..., : noisy.shape[-1]] / gain', 'return x0[..., : noisy.shape[-1]]', 'the enhancer output left at the training level, not scaled back to the input', tests=("test_speech.py",)),
    # ---------------------------------------------------------------- samplers.py
    Mutant('ddpm_beta_not_respaced', "samplers.py", 'beta = 1 - ab_t / ab_s  # respaced beta_t, Nichol', 'beta = schedule.beta[t].item()  # respaced beta_t, Nichol', "DDPM on a subsequence with the full chain's beta_t, not 1 - alpha_bar_t / alpha_bar_s: wrong only for strided steps", (NB05, NB05S)),
    Mutant('ddpm_beta_tilde_ratio_inverted', "samplers.py", 'beta_tilde = (1 - ab_s) / (1 - ab_t) * beta  # Eq. (7)', 'beta_tilde = (1 - ab_t) / (1 - ab_s) * beta  # Eq. (7)', 'posterior variance with the alpha_bar ratio inverted', (NB05, NB05S)),
    Mutant('ddpm_variance_swapped', "samplers.py", 'var = beta_tilde if variance == "beta_tilde" else beta', 'var = beta if variance == "beta_tilde" else beta_tilde', 'the two DDPM variances swapped', (NB05, NB05S)),
    Mutant('ddpm_mean_no_sqrt_alpha', "samplers.py", '\n        mu_tilde = math.sqrt(ab_s) * beta / (1 - ab_t) * x0_hat + math.sqrt(1 - beta) * (1 - ab_s)', '\n        mu_tilde = math.sqrt(ab_s) * beta / (1 - ab_t) * x0_hat + (1 - beta) * (1 - ab_s)', "posterior mean's x_t coefficient without the square root of alpha_t", (NB05, NB05S)),
    Mutant('ddpm_mean_x0_coef_ab_t', "samplers.py", '\n        mu_tilde = math.sqrt(ab_s) * beta', '\n        mu_tilde = math.sqrt(ab_t) * beta', "posterior mean's x_0 coefficient with alpha_bar_t for alpha_bar_{t-1}", (NB05, NB05S)),
    Mutant('ddpm_noise_at_last_step', "samplers.py", 'x = mu_tilde + math.sqrt(var) * _randn(x.shape, generator, x) if s > 0 else mu_tilde', 'x = mu_tilde + math.sqrt(var) * _randn(x.shape, generator, x)', 'noise added at the last step too (DDPM Algorithm 2 sets z = 0 at t = 1): wrong only for variance beta', (NB05, NB05S)),
    Mutant('ddim_sigma_eta_squared', "samplers.py", 'sigma_t = eta * math.sqrt(', 'sigma_t = eta**2 * math.sqrt(', 'DDIM sigma_t with eta squared: wrong only for 0 < eta < 1', (NB05, NB05S)),
    Mutant('ddim_sigma_sqrt_beta', "samplers.py", 'sigma_t = eta * math.sqrt((1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s))', 'sigma_t = eta * math.sqrt(1 - ab_t / ab_s)', 'DDIM sigma_t as eta sqrt(beta) (the DDPM variance beta, not beta_tilde): wrong only for eta > 0', (NB05, NB05S)),
    Mutant('ddim_direction_sigma_not_squared', "samplers.py", 'math.sqrt(max(1 - ab_s - sigma_t**2, 0.0))', 'math.sqrt(max(1 - ab_s - sigma_t, 0.0))', 'direction term sqrt(1 - alpha_bar_s - sigma_t): wrong only for eta > 0', (NB05, NB05S)),
    Mutant('ddim_direction_no_sqrt', "samplers.py", 'math.sqrt(max(1 - ab_s - sigma_t**2, 0.0)) * eps_hat', 'max(1 - ab_s - sigma_t**2, 0.0) * eps_hat', "DDIM's direction pointing to x_t without the square root", (NB05, NB05S)),
    Mutant('ddim_x0_coef_no_sqrt', "samplers.py", 'x = math.sqrt(ab_s) * x0_hat + math.sqrt(max(', 'x = ab_s * x0_hat + math.sqrt(max(', "DDIM's predicted-x_0 term scaled by alpha_bar_s, not its square root", (NB05, NB05S)),
    Mutant('dpm_r_inverted', "samplers.py", 'r = h_prev / h  # r_i', 'r = h / h_prev  # r_i', 'DPM-Solver++ step ratio inverted', (NB05, NB05S)),
    Mutant('dpm_D_sign', "samplers.py", '- 1 / (2 * r) * x0_prev  # D_i', '+ 1 / (2 * r) * x0_prev  # D_i', 'DPM-Solver++ extrapolation with the wrong sign', (NB05, NB05S)),
    Mutant('dpm_D_full_step', "samplers.py", 'D = (1 + 1 / (2 * r)) * x0_hat - 1 / (2 * r) * x0_prev', 'D = (1 + 1 / r) * x0_hat - 1 / r * x0_prev', 'DPM-Solver++ D_i with 1 / r for 1 / (2 r)', (NB05, NB05S)),
    Mutant('dpm_no_lower_order_final', "samplers.py", 'if x0_prev is None or s == pairs[-1][0]:', 'if x0_prev is None:', 'second order also on the last step into t_{N-1} (no lower_order_final)', (NB05, NB05S)),
    Mutant('dpm_lambda_full_log_snr', "samplers.py", 'lam = torch.log(alpha) - torch.log(sigma)  # lambda_t', 'lam = torch.log(schedule.snr)  # lambda_t', 'lambda = log SNR instead of log(alpha / sigma) = log SNR / 2', (NB05, NB05S)),
    Mutant('dpm_expm1_sign', "samplers.py", 'math.expm1(-h) * D', 'math.expm1(h) * D', 'DPM-Solver++ update with e^{h} - 1 for e^{-h} - 1', (NB05, NB05S)),
    Mutant('dpm_sigma_ratio_inverted', "samplers.py", '(sigma[s] / sigma[t]).item() * x', '(sigma[t] / sigma[s]).item() * x', 'DPM-Solver++ update with sigma_t / sigma_s', (NB05, NB05S)),
    Mutant('repaint_jump_beta_tilde', "samplers.py", 'x = math.sqrt(1 - beta) * x_s + math.sqrt(beta) * _randn', 'x = math.sqrt(1 - beta) * x_s + math.sqrt(beta_tilde) * _randn', "RePaint's jump back with the posterior variance, not q(x_t | x_s)", (NB05, NB05S)),
    Mutant('repaint_jump_unscaled', "samplers.py", 'x = math.sqrt(1 - beta) * x_s + math.sqrt(beta) * _randn', 'x = x_s + math.sqrt(beta) * _randn', "RePaint's jump back without scaling x_s by sqrt(alpha_t)", (NB05, NB05S)),
    Mutant('replace_known_clean_at_every_level', "samplers.py", 'known_s = q_sample(known_s, s_batch, _randn(x_s.shape, generator, x_s), schedule)', 'known_s = known_s', 'inpainting writes the clean known audio at every noise level', (NB05, NB05S)),
    Mutant('replace_known_mask_inverted', "samplers.py", 'return m * known_s + (1 - m) * x_s', 'return (1 - m) * known_s + m * x_s', 'inpainting mask inverted', (NB05, NB05S)),
    Mutant('clip_keeps_unclipped_eps', "samplers.py", 'eps_hat = x0_to_eps(x_t, t_batch, x0_hat, schedule)  # DDIM Eq. (9) solved for eps', 'pass', 'clipping x0_hat but keeping the unclipped eps_hat (the pair no longer matches x_t)', (NB05,)),  # not NB05S: the solutions never teach the denoiser's clipping (05 section 3 does)
    Mutant('sdedit_full_noise_on_noisy_input', "samplers.py", 'math.sqrt(max(1 - ab - ab * noise_std**2, 0.0)) * z', 'math.sqrt(1 - ab) * z', 'SDEdit on a noisy recording adds the full sigma_t noise, ignoring what it holds', (NB05,)),  # not NB05S: the solutions have no SDEdit exercise
    Mutant('timesteps_allow_repeats', "samplers.py", 'any(a <= b for a, b in zip(ts, ts[1:], strict=False))', 'any(a < b for a, b in zip(ts, ts[1:], strict=False))', 'a repeated step accepted (zero-length steps)', (NB05, NB05S)),
    Mutant('ddpm_noise_std_as_variance', "samplers.py", 'x = mu_tilde + math.sqrt(var) * _randn', 'x = mu_tilde + var * _randn', 'DDPM noise scaled by the variance, not its square root: SDEdit then lands on the posterior mean (1x Wiener, not 1.8x)', (NB05, NB05S)),
    Mutant('ddim_noise_scaled_by_variance', "samplers.py", 'x = x + sigma_t * _randn', 'x = x + sigma_t**2 * _randn', 'DDIM noise sigma_t^2 z for sigma_t z: eta = 1 is no longer DDPM (the determinism check could not see it)', (NB05, NB05S)),
    Mutant('replace_known_only_at_the_end', "samplers.py", 'return m * known_s + (1 - m) * x_s', 'return m * known_s + (1 - m) * x_s if s == 0 else x_s', 'inpainting pastes the known audio in at the end only: the gap ignores its context (seam, pitch)', (NB05, NB05S)),
    Mutant('denoiser_ignores_prediction', "samplers.py", 'to_x0_eps(net(x_t, t_batch), x_t, t_batch, schedule, prediction)', 'to_x0_eps(net(x_t, t_batch), x_t, t_batch, schedule, "eps")', "the denoiser reads every network's output as eps: a v-network's samples become noise", (NB05, NB05S)),
    Mutant('repaint_no_jump_back', "samplers.py", 'x = math.sqrt(1 - beta) * x_s + math.sqrt(beta) * _randn(x.shape, generator, x)', 'pass', 'RePaint redoes each step from the same x_t without jumping back: plain replacement at U times the cost', (NB05S,)),  # 05's U-Net inpainting resamples only in full mode
    # ---------------------------------------------------------------- chapter 06: guidance and the melody (issue 12)
    Mutant("cfg_capped_at_conditional", "guidance.py", "return uncond + scale * (cond - uncond)", "return uncond + min(scale, 1.0) * (cond - uncond)", "guidance that stops at the plain conditional model (s > 1 acts as s = 1): passed the old accuracy(s=3) - accuracy(s=0) check", (NB06,)),
    Mutant("melody_known_from_note_start", "generate.py", "known[..., :overlap] = clips[-1][..., -overlap:].to(device)", "known[..., :overlap] = clips[-1][..., :overlap].to(device)", "melody continues from the previous note's start, not its tail", (NB06,), tests=("test_generate.py",)),
    Mutant("join_click_amplitude_db", "generate.py", "return 10 * np.log10(joins / inside[:, None])", "return 20 * np.log10(joins / inside[:, None])", "click energy ratio in dB with 20 log10 (an amplitude rule on energies)", tests=("test_generate.py",)),
    Mutant("note_pitch_ignores_cents", "generate.py", "correct[:, i] = (np.abs(cents) <= 50) & (note == notes[i])", "correct[:, i] = note == notes[i]", "per-note pitch right when the nearest scale note matches, however far out of tune", tests=("test_generate.py",)),
    Mutant("note_pitch_frame_hop", "generate.py", "centres = length - overlap, np.arange(f0.shape[1]) * 128", "centres = length - overlap, np.arange(f0.shape[1]) * 256", "pYIN frames placed with the frame hop doubled: notes read from the wrong region", tests=("test_generate.py",)),
    Mutant("concatenate_note_tails", "generate.py", "return torch.cat([*(c[..., :H] for c in clips[:-1]), clips[-1]], dim=-1)", "return torch.cat([*(c[..., -H:] for c in clips[:-1]), clips[-1]], dim=-1)", "each note's last H samples kept instead of its first: the overlap is dropped twice", tests=("test_generate.py",)),
    Mutant("join_drop_adjacent_windows", "generate.py", "(level[:, j] + 1e-12) / (level[:, j - window] + 1e-12)", "(level[:, j] + 1e-12) / (level[:, j - 1] + 1e-12)", "level fall compared with the window one sample earlier (overlapping windows), not the window before", tests=("test_generate.py",)),
    # ---------------------------------------------------------------- models/unet1d.py and the EMA of train.py (chapter 04, issue 12)
    Mutant("time_features_sin_first", "models/unet1d.py", "return torch.cat([angle.cos(), angle.sin()], dim=1)", "return torch.cat([angle.sin(), angle.cos()], dim=1)", "time features [sin, cos] where Eq. (4.1) puts the cosines first", (NB04,)),
    Mutant("time_features_spacing_over_dim", "models/unet1d.py", "torch.arange(half, device=t.device, dtype=torch.float32) / half)", "torch.arange(half, device=t.device, dtype=torch.float32) / (2 * half))", "omega_k = 10000^(-k / dim) instead of 10000^(-k / K), K = dim / 2: the slowest frequency wraps within T", (NB04,)),
    Mutant("time_features_spacing_K_minus_1", "models/unet1d.py", "torch.arange(half, device=t.device, dtype=torch.float32) / half)", "torch.arange(half, device=t.device, dtype=torch.float32) / (half - 1))", "omega_k = 10000^(-k / (K - 1)) (another codebase's frequency shift), not Eq. (4.1)", (NB04,)),
    Mutant("rf_k_not_k_minus_1", "models/unet1d.py", "rf += (k - 1) * jump", "rf += k * jump", "receptive field grows by k J per conv instead of (k - 1) J (Eq. 4.4)", (NB04,)),
    Mutant("rf_stride_before_growth", "models/unet1d.py", "rf += (k - 1) * jump\n                jump *= s", "jump *= s\n                rf += (k - 1) * jump", "a strided conv's growth counted with the jump after its own stride (Eq. 4.4 order swapped)", (NB04,)),
    Mutant("rf_upsample_keeps_jump", "models/unet1d.py", "jump /= up", "jump /= 1", "the jump not divided by f after an upsampling: the decoder's convs counted at the coarse jump", (NB04,)),
    Mutant("adagn_scale_without_one", "models/unet1d.py", "h = self.norm2(h) * (1 + scale) + shift", "h = self.norm2(h) * scale + shift", "AdaGN GN(h) s(e) + b(e) instead of GN(h) (1 + s(e)) + b(e) (Eq. 4.2): the shipped weights no longer fit", (NB04,)),
    Mutant("skips_flag_ignored", "models/unet1d.py", "skip if self.config.skips else torch.zeros_like(skip)", "skip", "skips=False still passes the skips: the ablation of exercise 3 compares a model with itself", (NB04S,)),
    Mutant("ema_before_optimizer_step", "train.py", "    state.optimizer.step()\n    if state.ema is not None:\n        ema_update(state.ema, model, ema_decay_at(state.step, ema_decay))", "    if state.ema is not None:\n        ema_update(state.ema, model, ema_decay_at(state.step, ema_decay))\n    state.optimizer.step()", "EMA updated before the optimizer step: it averages theta_{n-1}, one step behind", (NB04S,), tests=("test_train.py", "test_unet.py")),
    Mutant("ema_decay_previous_step", "train.py", "ema_update(state.ema, model, ema_decay_at(state.step, ema_decay))", "ema_update(state.ema, model, ema_decay_at(state.step - 1, ema_decay))", "EMA decay d_{n-1} at step n (0-based step where Eq. 4.8 counts from 1)", (NB04S,), tests=("test_train.py", "test_unet.py")),
    # ---------------------------------------------------------------- edm.py, flow.py (chapter 09)
    Mutant("edm_sigma_vp_std", "edm.py", "return (1 - alpha_bar) ** 0.5 / alpha_bar**0.5", "return (1 - alpha_bar) ** 0.5", "EDM sigma of a VP level taken as the VP std sqrt(1 - alpha_bar), not divided by sqrt(alpha_bar)", (NB09,)),
    Mutant("edm_vp_input_unscaled", "edm.py", "x_vp = alpha * x  # Eq. (9.4)", "x_vp = x  # Eq. (9.4)", "the VP net fed x = x_vp / sqrt(alpha_bar) without scaling it back", (NB09,)),
    Mutant("edm_vp_v_sign", "edm.py", "return alpha * x_vp - s * out  # x_0", "return alpha * x_vp + s * out  # x_0", "x_0 from a v-prediction with the sign of sigma v flipped: wrong only for v nets", (NB09,)),
    Mutant("edm_c_out_no_sqrt", "edm.py", "c_out = sigma * sigma_data / (sigma**2 + sigma_data**2) ** 0.5", "c_out = sigma * sigma_data / (sigma**2 + sigma_data**2)", "c_out = sigma sigma_data / (sigma^2 + sigma_data^2): missing square root", (NB09,)),
    Mutant("edm_c_skip_sigma", "edm.py", "c_skip = sigma_data**2 / (sigma**2 + sigma_data**2)", "c_skip = sigma**2 / (sigma**2 + sigma_data**2)", "c_skip with sigma^2 on top: skips the input at high noise instead of low", (NB09,)),
    Mutant("edm_karras_off_by_one", "edm.py", "return [(hi + i / (steps - 1) * (lo - hi)) ** rho for i in range(steps)] + [0.0]", "return [(hi + i / steps * (lo - hi)) ** rho for i in range(steps)] + [0.0]", "Karras spacing i / N instead of i / (N - 1): the last level never reaches sigma_min"),
    Mutant("edm_churn_variance_as_std", "edm.py", "x = x + math.sqrt(t_hat**2 - t_cur**2) * eps", "x = x + (t_hat**2 - t_cur**2) * eps", "churn adds noise of std t_hat^2 - t^2 (a variance used as a std)"),
    Mutant("edm_slope_at_t_cur", "edm.py", "d_cur = (x - x0_hat) / t_hat", "d_cur = (x - x0_hat) / t_cur", "the Euler slope divided by sigma_i instead of the raised level t_hat: wrong only with churn"),
    Mutant("edm_heun_no_average", "edm.py", "x_next = x + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)", "x_next = x + (t_next - t_hat) * d_prime", "Heun's correction takes the end slope alone instead of the average (first order)", (NB09,)),
    Mutant("fm_target_sign", "flow.py", 'return eps - x0\n', 'return x0 - eps\n', "velocity target x_0 - eps: the direction of time flipped"),
    Mutant("fm_interpolant_swapped", "flow.py", "return (1 - t) * x0 + t * eps", "return t * x0 + (1 - t) * eps", "interpolant with noise at t = 0 and data at t = 1, against the loss's target"),
    Mutant("fm_time_not_scaled", "flow.py", "t_net = (time_scale * t).to(x0.dtype)", "t_net = t.to(x0.dtype)", "the loss shows the net t in [0, 1], the sampler 1000 t"),
    Mutant("fm_v_relation_sign", "flow.py", "return (alpha + sigma) * v - (alpha - sigma) * x_vp", "return (alpha + sigma) * v + (alpha - sigma) * x_vp", "u = (alpha + sigma) v + (alpha - sigma) x: wrong sign of the known term", (NB09,)),
    Mutant("fm_time_one_minus_alpha_bar", "flow.py", "return sigma / (alpha + sigma), alpha + sigma", "return sigma**2, alpha + sigma", "flow-matching time of a VP level taken as 1 - alpha_bar"),
    Mutant("fm_heun_corrects_at_zero", "flow.py", "if s == 0:  # the last step", "if s < 0:  # the last step", "flow Heun corrects the step onto t = 0 too, asking the net at t = 0 (EDM Algorithm 2 does not)"),
    Mutant("fm_heun_end_slope", "flow.py", "x = x + (s - t) * (u + u_next) / 2", "x = x + (s - t) * u_next", "flow Heun step with the end slope alone (first order)"),
]
# fmt: on


class StaleMutant(ValueError):
    """The mutant's old snippet does not occur exactly once in its file."""


def apply_mutant(mutant: Mutant, package_dir: Path) -> None:
    """Apply ``mutant`` to the package copy in ``package_dir`` (in place); raise StaleMutant if it does not fit."""
    path = package_dir / mutant.file
    if not path.is_file():
        raise StaleMutant(f"mutant {mutant.name!r}: file {PACKAGE}/{mutant.file} does not exist")
    text = path.read_text()
    n = text.count(mutant.old)
    if n != 1:
        where = "not found" if n == 0 else f"found {n} times (make the snippet longer)"
        raise StaleMutant(f"mutant {mutant.name!r} is stale: its old snippet is {where} in {PACKAGE}/{mutant.file}:\n"
                          f"    {mutant.old!r}")  # fmt: skip
    if mutant.old == mutant.new:
        raise StaleMutant(f"mutant {mutant.name!r} changes nothing (old == new)")
    mutated = text.replace(mutant.old, mutant.new)
    try:
        compile(mutated, str(path), "exec")
    except SyntaxError as e:
        raise StaleMutant(f"mutant {mutant.name!r} does not compile: {e}") from None
    path.write_text(mutated)


# --------------------------------------------------------------------------- running one mutant

PROBE_PLUGIN = '''"""Written by benchmarks/mutation_score.py: record which package modules the tests imported."""
import json, os, sys

def pytest_sessionfinish(session, exitstatus):
    mods = {k: getattr(m, "__file__", None) for k, m in list(sys.modules.items())
            if k == "{pkg}" or k.startswith("{pkg}.")}
    with open(os.environ["MUTATION_PROBE_OUT"], "w") as f:
        json.dump(mods, f)
'''.replace("{pkg}", PACKAGE)

PROBE_CELL = (
    "# mutation benchmark probe: the kernel must import the mutated copy, not the editable install\n"
    "import importlib.util, os\n"
    f"_origin = os.path.realpath(importlib.util.find_spec({PACKAGE!r}).origin)\n"
    "assert _origin.startswith(os.path.realpath(os.environ['MUTATION_TMP']) + os.sep), _origin\n"
)


@dataclass
class Result:
    mutant: Mutant | None
    unit_failed: list[str] = field(default_factory=list)
    unit_total: int = 0
    nb_failed: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)  # nb -> (cell, check, error)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def make_copy(tmp: Path, notebooks: tuple[str, ...]) -> None:
    """The package, tests, pytest configuration and the named notebooks under ``tmp``."""
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    shutil.copytree(REPO / PACKAGE, tmp / PACKAGE, ignore=ignore)
    shutil.copytree(REPO / "tests", tmp / "tests", ignore=ignore)
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy2(REPO / name, tmp / name)
    (tmp / "data").mkdir()
    for shipped in ("checkpoints", "results", "fsdd"):  # weights, tables (chapter 05 loads its sweep), speech
        if (REPO / "data" / shipped).exists():
            (tmp / "data" / shipped).symlink_to(REPO / "data" / shipped)
    (tmp / "notebooks").mkdir()
    for nb in notebooks:
        src = REPO / "notebooks" / f"{nb}.ipynb"
        doc = json.loads(src.read_text())
        probe = {"cell_type": "code", "execution_count": None, "id": "mutation-probe", "metadata": {}, "outputs": [],
                 "source": PROBE_CELL.splitlines(keepends=True)}  # fmt: skip
        if doc.get("nbformat_minor", 0) < 5:  # cell ids exist from nbformat 4.5 on
            del probe["id"]
        doc["cells"].insert(0, probe)
        dst = tmp / "notebooks" / f"{nb}.ipynb"  # nb may name a subfolder: "solutions/01_noise_process_solutions"
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(json.dumps(doc, indent=1))
    (tmp / "_mutation_probe.py").write_text(PROBE_PLUGIN)


def run_pytest(args: list[str], tmp: Path, env: dict, timeout: float) -> tuple[int, str]:
    """Run pytest in ``tmp`` in its own process group (killed whole on timeout); (returncode, output)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-p", "_mutation_probe", *args]
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return -9, out + f"\n[mutation_score: killed after {timeout:.0f} s]"
    return proc.returncode, out


def junit_failures(path: Path) -> tuple[list[tuple[str, str, str]], int]:
    """[(classname, name, failure text)] of failed or errored test cases, and the number of cases."""
    if not path.exists():
        return [], 0
    cases = ET.parse(path).getroot().iter("testcase")
    failed, n = [], 0
    for case in cases:
        n += 1
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            failed.append(
                (case.get("classname", ""), case.get("name", ""), (bad.get("message") or "") + (bad.text or ""))
            )
    return failed, n


ANSI = re.compile(r"(?:\x1b|#x1B)\[[0-9;]*m")  # junit XML writes ESC as #x1B


def error_name(text: str) -> str:
    """The exception class named last in a failure text (AssertionError, NameError, ...)."""
    names = re.findall(r"\b([A-Z]\w*(?:Error|Exception|Interrupt))\b", ANSI.sub("", text))
    return names[-1] if names else "failure"


def check_lines(nb_path: Path) -> list[str]:
    """For each code cell (nbval's numbering), its ``# CHECK:`` text ('' if none)."""
    doc = json.loads(nb_path.read_text())
    out = []
    for cell in doc["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        checks = [line.split("# CHECK:", 1)[1].strip() for line in src.splitlines() if "# CHECK:" in line]
        out.append(" / ".join(checks))
    return out


def run_one(mutant: Mutant | None, tests: tuple[str, ...], notebooks: tuple[str, ...], threads: int,
            keep: bool = False) -> Result:  # fmt: skip
    """Copy, mutate, run ``tests`` and ``notebooks``; ``mutant=None`` is the baseline."""
    result, start = Result(mutant), time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f"mutant-{mutant.name if mutant else 'baseline'}-"))
    try:
        make_copy(tmp, notebooks)
        if mutant is not None:
            apply_mutant(mutant, tmp / PACKAGE)
        env = dict(os.environ)
        env.update(PYTHONPATH=os.pathsep.join([str(tmp), *filter(None, [env.get("PYTHONPATH")])]),
                   MUTATION_TMP=str(tmp), MUTATION_PROBE_OUT=str(tmp / "probe.json"), AUDIODIFF_QUICK="1",
                   OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONDONTWRITEBYTECODE="1")  # fmt: skip
        if tests:
            args = [f"tests/{t}" for t in tests] + ["--timeout=600", f"--junitxml={tmp / 'unit.xml'}"]
            code, out = run_pytest(args, tmp, env, timeout=1200)
            verify_probe(tmp, result, out)
            failed, result.unit_total = junit_failures(tmp / "unit.xml")
            result.unit_failed = [f"{cls.rsplit('.', 1)[-1]}::{name}" for cls, name, _ in failed]
            if code not in (0, 1) or (code == 1 and not failed):
                result.errors.append(f"unit tests: pytest exit {code}: {last_lines(out)}")
        for nb in notebooks:
            xml = tmp / f"nb-{nb.replace('/', '_')}.xml"
            args = [f"notebooks/{nb}.ipynb", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=600",
                    f"--junitxml={xml}"]  # fmt: skip
            code, out = run_pytest(args, tmp, env, timeout=1800)
            failed, n = junit_failures(xml)
            checks = check_lines(tmp / "notebooks" / f"{nb}.ipynb")
            cells = []
            for _, name, text in failed:
                cell = int(name.split()[-1]) if name.split()[-1].isdigit() else -1
                if cell == 0:
                    result.errors.append(f"{nb}: the kernel did not import the copy: {last_lines(text)}")
                    continue
                cells.append((cell - 1, checks[cell] if 0 <= cell < len(checks) else "", error_name(text)))
            result.nb_failed[nb] = cells
            if n == 0 or code not in (0, 1):
                result.errors.append(f"{nb}: pytest exit {code}, {n} cells: {last_lines(out)}")
    except StaleMutant as e:
        result.errors.append(str(e))
    except Exception as e:  # a missing notebook, a full disk...: one row fails, not the run
        result.errors.append(f"harness: {type(e).__name__}: {e}")
    finally:
        result.seconds = time.perf_counter() - start
        if keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def verify_probe(tmp: Path, result: Result, out: str) -> None:
    """Refuse the run unless every imported package module came from the copy in ``tmp``."""
    probe = tmp / "probe.json"
    if not probe.exists():
        result.errors.append(f"unit tests: no probe record (pytest did not start?): {last_lines(out)}")
        return
    mods = json.loads(probe.read_text())
    root = os.path.realpath(tmp) + os.sep
    outside = [f"{k} -> {v}" for k, v in mods.items() if v and not os.path.realpath(v).startswith(root)]
    if not mods or outside:
        result.errors.append(f"unit tests did not test the copy: {outside or 'package never imported'}")


def last_lines(text: str, n: int = 3) -> str:
    lines = [line for line in ANSI.sub("", text).strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:])


# --------------------------------------------------------------------------- report


def short_tests(names: list[str]) -> str:
    """test_forward::test_x[a], test_forward::test_x[b] -> test_x[2 cases]."""
    counts: dict[str, int] = {}
    for name in names:
        base = name.split("::", 1)[-1].split("[", 1)[0]
        counts[base] = counts.get(base, 0) + 1
    return ", ".join(f"{k}[{v}]" if v > 1 else k for k, v in counts.items())


def is_kill(check: str, err: str) -> bool:
    """A failing cell kills the mutant if it is a ``# CHECK:`` cell, unless it only lost a name to an earlier crash."""
    return bool(check) and err != "NameError"


def nb_label(nb: str) -> str:
    """Short label: ``01_noise_process`` -> ``01``, ``solutions/01_noise_process_solutions`` -> ``01 sol``."""
    return Path(nb).name[:2] + (" sol" if nb.startswith("solutions/") else "")


def short_checks(nb_failed: dict) -> str:
    parts = []
    for nb, cells in nb_failed.items():
        if not cells:
            parts.append(f"{nb_label(nb)}: none")
        for cell, check, err in cells:
            if is_kill(check, err):
                parts.append(f"{nb_label(nb)} cell {cell}: {check[:60]}{'...' if len(check) > 60 else ''}")
            else:
                parts.append(f"({nb_label(nb)} cell {cell}: {err}, not a check)")
    return "; ".join(parts)


def nb_killed(cells) -> bool:
    return any(is_kill(check, err) for _, check, err in cells)


def verdict(r: Result) -> str:
    m = r.mutant
    if r.errors:
        return "stale" if any("stale" in e or "does not exist" in e for e in r.errors) else "error"
    unit = bool(r.unit_failed)
    nb_ok = all(nb_killed(cells) for cells in r.nb_failed.values())
    if unit and nb_ok:
        return "killed" if r.nb_failed or not m.notebooks else "killed (notebooks not run)"
    if not unit and m.test_files():
        return "SURVIVES unit" + ("" if nb_ok else " + notebook")
    return "SURVIVES notebook"


def subtract_baseline(r: Result, base: Result | None) -> None:
    """Tests or cells that already fail without a mutant do not count as kills."""
    if base is None:
        return
    r.unit_failed = [t for t in r.unit_failed if t not in base.unit_failed]
    for nb, cells in r.nb_failed.items():
        bad = {c for c, _, _ in base.nb_failed.get(nb, [])}
        r.nb_failed[nb] = [c for c in cells if c[0] not in bad]


def print_summary(results: list[Result]) -> None:
    """The README's table: per package file, how many mutants, and how many each kind of check kills."""
    print("| file | mutants | killed by unit tests | taught in a notebook | killed by that notebook's checks |")
    print("|---|---|---|---|---|")
    files = dict.fromkeys(r.mutant.file for r in results)
    for f in files:
        rs = [r for r in results if r.mutant.file == f]
        taught = [r for r in rs if r.mutant.notebooks]
        unit = sum(bool(r.unit_failed) and not r.errors for r in rs)
        nb = sum(bool(r.nb_failed) and all(nb_killed(c) for c in r.nb_failed.values()) for r in taught)
        print(f"| {f} | {len(rs)} | {unit} | {len(taught)} | {nb} |")
    print()


def print_table(results: list[Result], markdown: bool) -> None:
    if markdown:
        print_summary(results)
    rows = []
    for r in results:
        m = r.mutant
        nb = short_checks(r.nb_failed) if r.nb_failed else ("-" if not m.notebooks else "not run")
        unit = short_tests(r.unit_failed) or ("-" if not m.test_files() else "none")
        rows.append((m.name, m.file, m.why, unit, nb or "none", verdict(r), r))
    if markdown:
        print("| mutant | file | wrong formula | killed by unit tests | killed by notebook checks | verdict |")
        print("|---|---|---|---|---|---|")
        for name, file, why, unit, nb, v, _ in rows:
            cells = [f"`{name}`", file, why, unit, nb, v]
            print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")  # | inside a cell is escaped
    else:
        for name, file, why, unit, nb, v, r in rows:
            print(f"{name:36s} {file:17s} {v:18s} {r.seconds:5.0f}s")
            print(f"    {why}")
            print(f"    unit: {unit}")
            if r.mutant.notebooks or r.nb_failed:
                print(f"    notebooks: {nb}")
            for e in r.errors:
                print(f"    ERROR: {e}")
    n = len(results)
    unit_kills = sum(bool(r.unit_failed) and not r.errors for r in results)
    taught = [r for r in results if r.nb_failed]
    nb_kills = sum(all(nb_killed(cells) for cells in r.nb_failed.values()) for r in taught)
    killed = sum(verdict(r).startswith("killed") for r in results)
    print()
    not_run = sum(bool(r.mutant.notebooks) and not r.nb_failed for r in results)
    print(f"score: {killed}/{n} mutants killed by every check that ran; unit tests kill {unit_kills}/{n}; "
          f"notebook checks kill {nb_kills}/{len(taught)} of the mutants whose notebooks ran"
          + (f" ({not_run} mutants' notebooks not run)" if not_run else ""))  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    p.add_argument("--list", action="store_true", help="list the mutants and whether each still applies")
    p.add_argument("--no-notebooks", action="store_true", help="unit tests only")
    p.add_argument("--no-baseline", action="store_true", help="skip the run without a mutant")
    p.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    p.add_argument("--markdown", action="store_true", help="print the README table")
    p.add_argument("--json", metavar="PATH", help="write the raw results here")
    p.add_argument("--keep", action="store_true", help="keep the temporary copies (for debugging)")
    p.add_argument("--from-json", nargs="+", metavar="PATH",
                   help="run nothing: print the table of earlier --json runs (a later file's row replaces an "
                        "earlier one of the same mutant), in MUTANTS order; mutants in no file are listed as not run")  # fmt: skip
    args = p.parse_args(argv)
    if args.from_json:
        return print_saved(args.from_json, args.markdown)

    names = [m.name for m in MUTANTS]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        p.error(f"duplicate mutant names: {sorted(dupes)}")
    mutants = MUTANTS
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            p.error(f"unknown mutants {sorted(unknown)}; see --list")
        mutants = [m for m in MUTANTS if m.name in args.only]
    if args.list:
        for m in mutants:
            try:
                check_applies(m)
                state = "ok"
            except StaleMutant as e:
                state = f"STALE: {e}"
            print(
                f"{m.name:36s} {m.file:17s} tests={','.join(m.test_files())} nb={','.join(m.notebooks) or '-'}  {state}"
            )
            print(f"    {m.why}")
        print(f"{len(mutants)} mutants")
        return 0

    threads = max(1, (os.cpu_count() or 2) // max(args.jobs, 1))
    nbs = lambda m: () if args.no_notebooks else m.notebooks  # noqa: E731
    jobs = [(None, tuple(sorted({t for m in mutants for t in m.test_files()})),
             tuple(sorted({nb for m in mutants for nb in nbs(m)})))]  # fmt: skip
    jobs = ([] if args.no_baseline else jobs) + [(m, m.test_files(), nbs(m)) for m in mutants]
    start, results, base = time.perf_counter(), {}, None
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        futures = {pool.submit(run_one, m, t, n, threads, args.keep): m for m, t, n in jobs}
        for i, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            r = fut.result()
            label = r.mutant.name if r.mutant else "(baseline)"
            print(f"[{i}/{len(jobs)}] {label}: {r.seconds:.0f} s", file=sys.stderr, flush=True)
            if r.mutant is None:
                base = r
            else:
                results[r.mutant.name] = r
    if base is not None:
        bad = base.unit_failed + [f"{nb} cell {c}" for nb, cells in base.nb_failed.items() for c, _, _ in cells]
        if bad or base.errors:
            print(f"WARNING: the baseline (no mutant) fails: {bad} {base.errors}; those do not count as kills")
        else:
            print(f"baseline (no mutant): {base.unit_total} unit tests and "
                  f"{len(base.nb_failed)} notebooks pass, the copy was the code under test ({base.seconds:.0f} s)")  # fmt: skip
    ordered = [results[m.name] for m in mutants]
    for r in ordered:
        subtract_baseline(r, base)
    print_table(ordered, args.markdown)
    print(f"wall time {time.perf_counter() - start:.0f} s with --jobs {args.jobs}")
    if args.json:
        Path(args.json).write_text(json.dumps([{
            "name": r.mutant.name, "file": r.mutant.file, "why": r.mutant.why, "unit_failed": r.unit_failed,
            "notebook_failed": r.nb_failed, "errors": r.errors, "verdict": verdict(r), "seconds": r.seconds}
            for r in ordered], indent=1))  # fmt: skip
    return 0 if all(verdict(r).startswith("killed") for r in ordered) else 1


def print_saved(paths: list[str], markdown: bool) -> int:
    """The table of earlier runs (``--json``), merged by mutant name; mutants not in any file are reported."""
    saved = {}
    for path in paths:
        for row in json.loads(Path(path).read_text()):
            saved[row["name"]] = row
    by_name = {m.name: m for m in MUTANTS}
    results, missing = [], [m.name for m in MUTANTS if m.name not in saved]
    for m in MUTANTS:
        row = saved.get(m.name)
        if row is not None:
            cells = {nb: [tuple(c) for c in v] for nb, v in row["notebook_failed"].items()}
            results.append(Result(by_name[m.name], row["unit_failed"], 0, cells, row["errors"], row["seconds"]))
    print_table(results, markdown)
    if missing:
        print(f"not run in these files: {', '.join(missing)}")
    return 0 if not missing and all(verdict(r).startswith("killed") for r in results) else 1


def check_applies(mutant: Mutant) -> None:
    """Raise StaleMutant unless ``mutant`` applies to the package as it is now (nothing is written)."""
    path = REPO / PACKAGE / mutant.file
    with tempfile.TemporaryDirectory() as d:
        dst = Path(d) / mutant.file
        dst.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            shutil.copy2(path, dst)
        apply_mutant(mutant, Path(d))


if __name__ == "__main__":
    sys.exit(main())
