"""Independent reference for the bootstrap intervals (tests/suite/metrics_bootstrap.rs).

Run from the repository root with numpy and scipy (no torch):

    python tests/reference/check_bootstrap.py

It writes tests/fixtures/bootstrap/:
- real.npz (pool 120 x 16) and fake.npz (pool 100 x 16, logits 100 x 12):
  seeded float32 Gaussian features, the fake set shifted and wider;
- reference.json: for `score --metrics fid,is,kid,prdc` on those files with
  `--bootstrap 20 --bootstrap-seed 7 --ci-level 0.9 --kid-subsets 10
  --kid-subset-size 50` (k = 5, IS: torch-fidelity's 10 contiguous splits
  after RandomState(2020).permutation), every replicate's value and the
  interval of each metric (the percentile interval moved by the bias,
  [q_low - bias, q_high - bias], clipped to the metric's range), and the
  bias (mean of the replicates minus the value) of every metric.

Each replicate draws its rows as the tool does: one RandomState(seed), per
replicate `randint(0, n_real, n_real)` then `randint(0, n_fake, n_fake)`.
The metrics are written here from their definitions, on the repeated rows
(np.cov, scipy.linalg.sqrtm as pytorch-fid 0.3.0's
calculate_frechet_distance; torch-fidelity 0.4's IS and KID), except PR-DC,
which takes k-NN radii over the distinct rows drawn and counts each sample as
often as it was drawn (the rule the tool documents in
src/metrics/prdc.rs: prdc_weighted); distances by scipy's cdist.
"""
import json
import os

import numpy as np
import scipy
import scipy.linalg
from scipy.spatial.distance import cdist

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "bootstrap")

N_REAL, N_FAKE, DIM, CLASSES = 120, 100, 16, 12
REPLICATES, SEED, LEVEL = 20, 7, 0.9
KID_SUBSETS, KID_SUBSET_SIZE, KID_SEED = 10, 50, 2020
IS_SPLITS, IS_SEED = 10, 2020
K = 5


def features():
    rng = np.random.RandomState(11)
    real = rng.standard_normal((N_REAL, DIM)).astype(np.float32)
    fake = (rng.standard_normal((N_FAKE, DIM)) * 1.1 + 0.3).astype(np.float32)
    logits = (rng.standard_normal((N_FAKE, CLASSES)) * 2.0).astype(np.float32)
    return real, fake, logits


def fid(a, b):
    """pytorch-fid 0.3.0's calculate_frechet_distance on np.cov statistics."""
    mu1, mu2 = a.mean(axis=0, dtype=np.float64), b.mean(axis=0, dtype=np.float64)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def inception_score(logits):
    """torch-fidelity 0.4: shuffle with RandomState(2020), float64 softmax, contiguous splits."""
    n = logits.shape[0]
    logits = logits[np.random.RandomState(IS_SEED).permutation(n)].astype(np.float64)
    logp = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
    p = np.exp(logp)
    scores = []
    for i in range(IS_SPLITS):
        lo, hi = i * n // IS_SPLITS, (i + 1) * n // IS_SPLITS
        part_p, part_logp = p[lo:hi], logp[lo:hi]
        log_q = np.log(part_p.mean(axis=0))
        kl = (part_p * (part_logp - log_q)).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores))


def kid(real, fake):
    """torch-fidelity 0.4's KID: subsets drawn without replacement, polynomial kernel."""
    rng = np.random.RandomState(KID_SEED)
    real, fake = real.astype(np.float64), fake.astype(np.float64)
    gamma, m = 1.0 / real.shape[1], KID_SUBSET_SIZE
    mmds = []
    for _ in range(KID_SUBSETS):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        kxx = (x @ x.T * gamma + 1) ** 3
        kyy = (y @ y.T * gamma + 1) ** 3
        kxy = (x @ y.T * gamma + 1) ** 3
        mmd = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        mmds.append(mmd - 2 * kxy.mean())
    return float(np.mean(mmds))


def prdc_weighted(real, real_idx, fake, fake_idx):
    """PR-DC of resampled sets: radii over the distinct rows, shares weighted by multiplicity."""
    r_rows, r_w = np.unique(real_idx, return_counts=True)
    f_rows, f_w = np.unique(fake_idx, return_counts=True)
    r = real[r_rows].astype(np.float64)
    f = fake[f_rows].astype(np.float64)
    rr, ff, rf = cdist(r, r), cdist(f, f), cdist(r, f)
    r_radius = np.sort(rr, axis=1)[:, K]  # column 0 is the row's own 0
    f_radius = np.sort(ff, axis=1)[:, K]
    in_real_ball = rf < r_radius[:, None]  # (real, fake)
    in_fake_ball = rf < f_radius[None, :]
    n_r, n_f = r_w.sum(), f_w.sum()
    precision = (f_w * in_real_ball.any(axis=0)).sum() / n_f
    recall = (r_w * in_fake_ball.any(axis=1)).sum() / n_r
    density = (1.0 / K) * ((f_w * in_real_ball.sum(axis=0)).sum() / n_f)
    coverage = (r_w * (rf.min(axis=1) < r_radius)).sum() / n_r
    return [float(precision), float(recall), float(density), float(coverage)]


def main():
    os.makedirs(OUT, exist_ok=True)
    real, fake, logits = features()
    np.savez(os.path.join(OUT, "real.npz"), pool=real)
    np.savez(os.path.join(OUT, "fake.npz"), pool=fake, logits=logits)
    rng = np.random.RandomState(SEED)
    values = {k: [] for k in ["fid", "is_mean", "kid_mean", "precision", "recall", "density", "coverage"]}
    for _ in range(REPLICATES):
        ri = rng.randint(0, N_REAL, N_REAL)
        fi = rng.randint(0, N_FAKE, N_FAKE)
        values["fid"].append(fid(real[ri], fake[fi]))
        values["is_mean"].append(inception_score(logits[fi]))
        values["kid_mean"].append(kid(real[ri], fake[fi]))
        p, r, d, c = prdc_weighted(real, ri, fake, fi)
        values["precision"].append(p)
        values["recall"].append(r)
        values["density"].append(d)
        values["coverage"].append(c)
    tail = (1 - LEVEL) / 2 * 100
    point = {"fid": fid(real, fake), "is_mean": inception_score(logits), "kid_mean": kid(real, fake)}
    p, r, d, c = prdc_weighted(real, np.arange(N_REAL), fake, np.arange(N_FAKE))
    point.update({"precision": p, "recall": r, "density": d, "coverage": c})
    # Every interval: the percentile interval moved by the bootstrap's bias
    # estimate, mean(replicates) - value, then clipped to the metric's range.
    ranges = {"fid": (-np.inf, np.inf), "is_mean": (1.0, np.inf), "kid_mean": (-np.inf, np.inf),
              "precision": (0.0, 1.0), "recall": (0.0, 1.0), "density": (0.0, np.inf), "coverage": (0.0, 1.0)}
    intervals = {}
    for k, v in values.items():
        bias = float(np.mean(v) - point[k])
        low, high = np.percentile(v, [tail, 100 - tail]) - bias
        intervals[k] = [float(np.clip(low, *ranges[k])), float(np.clip(high, *ranges[k]))]
    reference = {
        "made_by": "tests/reference/check_bootstrap.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "replicates": REPLICATES,
        "seed": SEED,
        "level": LEVEL,
        "kid_subsets": KID_SUBSETS,
        "kid_subset_size": KID_SUBSET_SIZE,
        "first_real_indices": [int(i) for i in np.random.RandomState(SEED).randint(0, N_REAL, N_REAL)[:10]],
        "point": point,
        "bias": {k: float(np.mean(values[k]) - point[k]) for k in point},
        "values": values,
        "intervals": intervals,
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
