"""The metric maths: Fréchet distance, Gaussian statistics, Inception Score, KID, precision/recall."""

import numpy as np
import pytest
import scipy.linalg

from sagan_hf.evaluation import (
    GaussianStatsAccumulator,
    frechet_distance,
    frechet_distance_from_features,
    gaussian_statistics,
    inception_score,
    kernel_inception_distance,
    mmd2_unbiased,
    precision_recall,
)


def random_spd(rng, dim, scale=1.0):
    a = rng.normal(size=(dim, dim)) * scale
    return a @ a.T + 0.1 * np.eye(dim)


def scipy_frechet(mu1, s1, mu2, s2):
    """The textbook formula with scipy's general (non-symmetric) matrix square root."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# --- Fréchet distance ------------------------------------------------------------------------------


def test_frechet_one_dimensional_closed_form():
    # Between N(m1, s1^2) and N(m2, s2^2) the squared W2 distance is (m1 - m2)^2 + (s1 - s2)^2.
    d = frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]])
    assert d == pytest.approx(9.0 + 1.0, rel=1e-12)


def test_frechet_diagonal_closed_form():
    rng = np.random.default_rng(0)
    var1, var2 = rng.uniform(0.1, 3.0, 6), rng.uniform(0.1, 3.0, 6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_matches_scipy_for_non_commuting_covariances(seed):
    rng = np.random.default_rng(seed)
    dim = 24
    s1, s2 = random_spd(rng, dim), random_spd(rng, dim, scale=0.5)
    assert not np.allclose(s1 @ s2, s2 @ s1)  # the case where a naive sqrt(s1) sqrt(s2) would be wrong
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-8)
    # A product-of-roots shortcut differs here, so the test would catch it.
    naive = (
        np.sum((mu1 - mu2) ** 2)
        + np.trace(s1)
        + np.trace(s2)
        - 2 * np.trace(scipy.linalg.sqrtm(s1).real @ scipy.linalg.sqrtm(s2).real)
    )
    assert abs(ours - naive) > 1e-3


def test_frechet_is_symmetric_and_zero_on_identical_statistics():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16))
    mu, sigma = gaussian_statistics(features)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)
    mu2, sigma2 = gaussian_statistics(features[:250] * 1.5)
    assert frechet_distance(mu, sigma, mu2, sigma2) == pytest.approx(
        frechet_distance(mu2, sigma2, mu, sigma), rel=1e-9
    )


def test_frechet_handles_singular_covariances():
    # Fewer samples than dimensions (rank-deficient, as with small evaluations): still finite and >= 0.
    rng = np.random.default_rng(4)
    mu1, s1 = gaussian_statistics(rng.normal(size=(5, 32)))
    mu2, s2 = gaussian_statistics(rng.normal(size=(5, 32)) + 1.0)
    d = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(d) and d > 0
    assert d == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-5)


@pytest.mark.parametrize(
    "args, message",
    [
        (([0.0, 0.0], np.eye(2), [0.0], np.eye(1)), "same length"),
        (([0.0, 0.0], np.eye(3), [0.0, 0.0], np.eye(2)), "2x2"),
        (([0.0, 0.0], np.ones((2, 3)), [0.0, 0.0], np.eye(2)), "square"),
        (([np.nan, 0.0], np.eye(2), [0.0, 0.0], np.eye(2)), "finite"),
    ],
)
def test_frechet_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(*args)


def test_streaming_statistics_match_numpy():
    rng = np.random.default_rng(5)
    features = rng.normal(loc=3.0, size=(301, 8)) @ rng.normal(size=(8, 8))
    accumulator = GaussianStatsAccumulator(8)
    for chunk in np.array_split(features, 7):  # uneven batches
        accumulator.update(chunk)
    assert accumulator.count == 301
    np.testing.assert_allclose(accumulator.mean, features.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        accumulator.covariance(), np.cov(features, rowvar=False), rtol=1e-10, atol=1e-12
    )
    with pytest.raises(ValueError, match=r"\[N, 8\]"):
        accumulator.update(np.zeros((2, 3)))


# --- Inception Score --------------------------------------------------------------------------------


def test_inception_score_confident_balanced_predictions_give_k():
    k = 10
    probs = np.eye(k)[np.arange(200) % k]
    mean, std = inception_score(probs, splits=1)
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == 0.0
    mean, std = inception_score(probs, splits=4)  # each split still balanced
    assert mean == pytest.approx(k) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_is_one_for_uniform_or_collapsed_predictions():
    assert inception_score(np.full((50, 7), 1 / 7))[0] == pytest.approx(1.0)
    collapsed = np.zeros((50, 7))
    collapsed[:, 3] = 1.0
    assert inception_score(collapsed)[0] == pytest.approx(1.0)


def test_inception_score_between_and_splits_std():
    rng = np.random.default_rng(6)
    logits = rng.normal(scale=3.0, size=(400, 10))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    mean, std = inception_score(probs, splits=10)
    assert 1.0 < mean < 10.0 and std > 0
    # By hand for one split: exp(mean KL(p(y|x) || p(y))).
    marginal = probs.mean(axis=0)
    by_hand = np.exp(np.mean(np.sum(probs * (np.log(probs) - np.log(marginal)), axis=1)))
    assert inception_score(probs)[0] == pytest.approx(by_hand, rel=1e-12)


def test_inception_score_rejects_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(np.ones((4, 3)))
    with pytest.raises(ValueError, match="splits"):
        inception_score(np.eye(3), splits=5)


# --- KID ---------------------------------------------------------------------------------------------


def test_kid_near_zero_on_one_distribution_and_positive_on_two():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(600, 32))
    b = rng.normal(size=(600, 32))
    c = rng.normal(loc=0.5, size=(600, 32))
    same_mean, same_std = kernel_inception_distance(a, b, num_subsets=20, subset_size=200, seed=0)
    diff_mean, _ = kernel_inception_distance(a, c, num_subsets=20, subset_size=200, seed=0)
    assert abs(same_mean) < 3 * same_std + 1e-3
    assert diff_mean > 20 * max(abs(same_mean), same_std)


def test_mmd2_unbiased_matches_a_direct_double_sum():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)) + 0.3
    kernel = lambda u, v: (u @ v / 4 + 1) ** 3  # noqa: E731
    m = 6
    xx = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_is_seeded_and_caps_subset_size():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(30, 8)), rng.normal(size=(20, 8))
    first = kernel_inception_distance(a, b, num_subsets=5, subset_size=1000, seed=3)
    assert first == kernel_inception_distance(a, b, num_subsets=5, subset_size=1000, seed=3)
    with pytest.raises(ValueError, match="same D"):
        kernel_inception_distance(a, np.zeros((20, 3)))


# --- Precision / recall ------------------------------------------------------------------------------


def test_precision_recall_identical_sets_are_perfect():
    points = np.random.default_rng(10).normal(size=(100, 5))
    assert precision_recall(points, points.copy(), k=3) == (1.0, 1.0)


def test_precision_recall_separable_sets_are_zero():
    rng = np.random.default_rng(11)
    real = rng.normal(size=(100, 5))
    assert precision_recall(real, rng.normal(size=(100, 5)) + 100.0, k=3) == (0.0, 0.0)


def test_precision_recall_detects_mode_dropping():
    # Fakes cover only one of two real clusters: high precision, recall about one half.
    rng = np.random.default_rng(12)
    real = np.concatenate([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 20.0])
    fake = rng.normal(size=(200, 2))
    precision, recall = precision_recall(real, fake, k=3, chunk=64)
    assert precision > 0.9
    assert 0.35 < recall < 0.55


@pytest.mark.parametrize("sizes", [(5, 7), (40, 30), (9, 3)])
def test_frechet_from_features_equals_the_statistics_route(sizes):
    rng = np.random.default_rng(13)
    dim = 16
    f1 = rng.normal(size=(sizes[0], dim)) @ rng.normal(size=(dim, dim))
    f2 = rng.normal(loc=0.3, size=(sizes[1], dim))
    expected = frechet_distance(*gaussian_statistics(f1), *gaussian_statistics(f2))
    # rel 1e-6: the D x D route loses ~sqrt(machine eps) on the zero eigenvalues of singular matrices.
    assert frechet_distance_from_features(f1, f2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance_from_features(f1, f1) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance_from_features(f1[:1], f2)
