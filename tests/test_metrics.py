"""Each measure of ``metrics.py`` at a value known in closed form (issue 12)."""

import math

import numpy as np
import pytest

from audiodiff_minimal.data import SR
from audiodiff_minimal.evaluate import cents_to_scale
from audiodiff_minimal.metrics import (
    am_score,
    bootstrap_ci,
    entropy_miller_madow,
    frame_pitch,
    frechet_feature_distance,
    in_tune_chance,
    inception_score,
    kernel_inception_distance,
    manifold_membership,
    modified_inception_score,
    pitch_track_measures,
    precision_recall,
)


def sqrtm_psd(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    return (v * np.sqrt(np.maximum(w, 0))) @ v.T


def test_fd_of_two_gaussians_matches_the_closed_form():
    """Samples of N(mu1, C1) and N(mu2, C2) with non-commuting covariances: FD -> |dmu|^2 + tr(C1 + C2 -
    2 (C1^1/2 C2 C1^1/2)^1/2), computed here by eigendecompositions (an independent route)."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    C1, C2 = A @ A.T + 0.5 * np.eye(3), B @ B.T + 0.5 * np.eye(3)
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.0, 0.0])
    s1 = sqrtm_psd(C1)
    exact = ((mu1 - mu2) ** 2).sum() + np.trace(C1 + C2 - 2 * sqrtm_psd(s1 @ C2 @ s1))
    a = rng.multivariate_normal(mu1, C1, 40_000)
    b = rng.multivariate_normal(mu2, C2, 40_000)
    assert frechet_feature_distance(a, b) == pytest.approx(exact, rel=0.03)
    assert frechet_feature_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_fd_refuses_fewer_clips_than_dimensions():
    with pytest.raises(ValueError, match="singular"):
        frechet_feature_distance(np.zeros((32, 64)), np.zeros((300, 64)))


def cubic_kernel_mean(m1, v1, m2, v2):
    """E (x y + 1)^3 for independent scalar x ~ N(m1, v1), y ~ N(m2, v2): moments of Gaussians."""
    ex = (m1, v1 + m1**2, m1**3 + 3 * m1 * v1)  # E x, E x^2, E x^3
    ey = (m2, v2 + m2**2, m2**3 + 3 * m2 * v2)
    return ex[2] * ey[2] + 3 * ex[1] * ey[1] + 3 * ex[0] * ey[0] + 1


def test_kid_is_unbiased_for_mmd_squared():
    """Mean KID over many small draws equals the population MMD^2 of the cubic kernel (D = 1: k = (xy + 1)^3),
    both for equal distributions (0) and for N(0, 1) vs N(0.5, 1.5). The biased (V-statistic) estimate keeps
    the diagonal terms: it is off by about 2 (E k(x, x) - E k(x, x')) / n = 2 (28 - 4) / 6 = 8 here."""
    rng = np.random.default_rng(1)
    for m2, v2 in ((0.0, 1.0), (0.5, 1.5)):
        exact = cubic_kernel_mean(0, 1, 0, 1) + cubic_kernel_mean(m2, v2, m2, v2) - 2 * cubic_kernel_mean(0, 1, m2, v2)
        draws = [
            kernel_inception_distance(rng.standard_normal((6, 1)), m2 + np.sqrt(v2) * rng.standard_normal((6, 1)))
            for _ in range(12000)
        ]
        se = np.std(draws) / np.sqrt(len(draws))
        assert abs(np.mean(draws) - exact) < 3.5 * se, (np.mean(draws), exact, se)
        assert se < 1.0  # the test has power: the V-statistic's bias of about 8 shows


def test_kid_of_a_set_with_itself_is_near_zero_and_of_shifted_sets_positive():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((200, 8))
    k = (a @ a.T / 8 + 1) ** 3
    # identical sets: the unbiased within-set terms leave -2 (mean k(a_i, a_i) - mean k(a_i, a_j)) / (n - 1)
    assert kernel_inception_distance(a, a) == pytest.approx(-2 * (np.diag(k).mean() - k.mean()) / 199)
    assert abs(kernel_inception_distance(a, a)) < 0.02 * kernel_inception_distance(a, a + 1.0)


def test_inception_score_known_values():
    K = 8
    one_hot = np.eye(K)[np.arange(4 * K) % K]  # confident and every class equally often
    assert math.log(inception_score(one_hot)) == pytest.approx(math.log(K))
    assert inception_score(np.full((10, K), 1 / K)) == pytest.approx(1.0)
    p = np.array([[0.9, 0.1], [0.1, 0.9]])  # marginal (0.5, 0.5)
    assert inception_score(p) == pytest.approx(math.exp(0.9 * math.log(1.8) + 0.1 * math.log(0.2)))


def test_modified_inception_score_averages_over_distinct_pairs():
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])
    kl = 0.8 * math.log(9)  # KL((0.9, 0.1) || (0.1, 0.9))
    assert modified_inception_score(p) == pytest.approx(math.exp(8 / 12 * kl))  # 8 of 12 ordered pairs differ
    assert modified_inception_score(np.full((5, 4), 0.25)) == pytest.approx(1.0)


def test_am_score_known_values():
    K = 4
    ref = np.eye(K)[np.arange(40) % K]
    assert am_score(np.eye(K)[np.arange(8) % K], ref) == pytest.approx(0.0, abs=1e-9)
    assert am_score(np.full((8, K), 1 / K), ref) == pytest.approx(math.log(K))
    gen = np.tile([0.9, 0.1], (5, 1))
    ref2 = np.array([[1.0, 0.0], [0.0, 1.0]])  # p_r(y) = (0.5, 0.5); KL(p_r || p_g) + H(0.9, 0.1)
    exact = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1) - 0.9 * math.log(0.9) - 0.1 * math.log(0.1)
    assert am_score(gen, ref2) == pytest.approx(exact)


def test_precision_recall_identical_disjoint_and_half():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((100, 4))
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    fake = np.concatenate([real[:50], real[:50] + 100.0])  # half are real clips, half far away
    precision, recall = precision_recall(real, fake)
    assert precision == 0.5 and 0.3 < recall < 1.0


def test_manifold_radius_is_the_kth_nearest_other_point():
    ref = np.arange(10.0)[:, None]  # 0, 1, ..., 9: every k-th other neighbour is k away (k <= 1 at the ends)
    query = np.array([[9.8], [10.5], [11.2]])
    assert manifold_membership(ref, query, k=1).tolist() == [True, False, False]
    assert manifold_membership(ref, query, k=2).tolist() == [True, True, False]


def test_miller_madow_entropy():
    assert entropy_miller_madow([0, 1], 4) == pytest.approx(1 + 1 / (4 * math.log(2)))
    assert entropy_miller_madow([2, 2, 2], 4) == pytest.approx(0.0)
    rng = np.random.default_rng(4)  # 4 equally likely classes, 12 draws: MM is near 2 bits, the plug-in is not
    mm = [entropy_miller_madow(rng.integers(0, 4, 12), 4) for _ in range(2000)]
    assert abs(np.mean(mm) - 2.0) < 0.05


def test_in_tune_chance_is_seven_twelfths_and_matches_monte_carlo():
    assert in_tune_chance() == pytest.approx(7 / 12)
    cents = np.random.default_rng(5).uniform(6000, 7200, 200_000)  # uniform pitch over C4..C5
    f0 = 440.0 * 2 ** ((cents / 100 - 69) / 12)
    assert (np.abs(cents_to_scale(f0)[0]) <= 50).mean() == pytest.approx(in_tune_chance(), abs=0.005)


def test_bootstrap_interval_covers_the_mean_about_95_percent():
    rng = np.random.default_rng(6)
    hits = 0
    for case in range(300):
        ci = bootstrap_ci(np.mean, rng.exponential(1.0, 60), n_boot=400, seed=case)
        hits += ci.lo <= 1.0 <= ci.hi
    assert 0.88 <= hits / 300 <= 0.985, hits / 300


def test_bootstrap_two_sets_and_paired():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(200), rng.standard_normal(300) + 1.0
    ci = bootstrap_ci(lambda u, v: v.mean() - u.mean(), a, b, n_boot=300)
    assert ci.lo < 1.0 < ci.hi and ci.hi - ci.lo < 0.5
    x = rng.standard_normal(100)
    paired = bootstrap_ci(lambda u, v: (u - v).mean(), x, x, n_boot=100, paired=True)
    assert paired.lo == paired.hi == 0.0  # same indices for both arrays
    with pytest.raises(ValueError, match="equal length"):
        bootstrap_ci(lambda u, v: 0.0, a, b, paired=True)


def test_bias_corrected_interval_keeps_a_set_statistic_inside():
    """IS of 3 confident clips of each of 32 classes is exactly 32; every resample has uneven counts, so every
    replicate is below 32 and the plain percentile interval misses the estimate; the shifted one holds it."""
    probs = np.eye(32)[np.arange(96) % 32]
    plain = bootstrap_ci(inception_score, probs, n_boot=200)
    shifted = bootstrap_ci(inception_score, probs, n_boot=200, bias_correct=True)
    assert plain.value == pytest.approx(32) and plain.hi < 32
    assert shifted.lo < 32 < shifted.hi and shifted.hi - shifted.lo == pytest.approx(plain.hi - plain.lo)


def tone(f_start: float, f_end: float, length: int = 4096, sr: int = SR) -> np.ndarray:
    """A sine whose frequency moves exponentially (linearly in cents) from f_start to f_end."""
    t = np.arange(length) / sr
    duration = length / sr
    k = math.log(f_end / f_start) / duration
    phase = 2 * math.pi * f_start * (np.expm1(k * t) / k if k else t)
    return 0.5 * np.sin(phase)


def test_pyin_on_a_pure_tone_and_a_glide():
    x = np.stack([tone(450.0, 450.0), tone(300.0, 400.0)])
    f0, voiced = frame_pitch(x)
    m = pitch_track_measures(f0, voiced)
    assert abs(1200 * math.log2(m["f0"][0] / 450.0)) < 6  # the 10-cent grid: within 5 cents
    assert m["drift_cents"][0] < 5 and m["voiced"][0] > 0.9
    span = 1200 * math.log2(400 / 300)  # 498 c, uniform in time: std span / sqrt(12) = 144 c
    assert m["drift_cents"][1] == pytest.approx(span / math.sqrt(12), rel=0.15)


def test_pitch_track_of_silence_is_nan_and_unvoiced():
    f0, voiced = frame_pitch(np.zeros((1, 4096)))
    m = pitch_track_measures(f0, voiced)
    assert np.isnan(m["f0"][0]) and np.isnan(m["cents"][0]) and m["voiced"][0] == 0.0
