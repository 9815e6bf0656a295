"""Expected FID∞ and IS∞ for tests/suite/metrics_infinity.rs, by Chong &
Forsyth's procedure ("Effectively Unbiased FID and Inception Score and where
to find them", CVPR 2020; their score_infinity.py), reimplemented here in
numpy / scipy / scikit-learn on tests/fixtures/infinity/ (make.py).

Their procedure, step by step:
- counts = np.linspace(N_min, N, points).astype('int32') (theirs: 5000 … N, 15);
- for each count in turn: np.random.shuffle the N rows (the shuffles compound)
  and take the first `count` rows; here the generator is np.random.RandomState(seed),
  so stackgan-eval can draw the very same subsets;
- FID of those rows (np.mean, np.cov) against the whole reference's mu/sigma,
  with scipy.linalg.sqrtm as pytorch-fid 0.3.0; IS of their softmax
  probabilities in ONE split (their calculate_inception_score(pred, num_splits=1));
  the softmax is taken in float64 here (theirs: float32 on the GPU);
- sklearn LinearRegression of the values on 1/count; the prediction at 0.
Beside the value: RMS of the residuals, and the intercept's standard error
from scipy.stats.linregress.

Run from the repository root (numpy, scipy, scikit-learn):
    python tests/reference/check_infinity.py            # writes reference.json
    python tests/reference/check_infinity.py --bin target/release/stackgan-eval
        # also runs `score` on the fixture and prints the relative differences
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import scipy.linalg
import scipy.special
import scipy.stats
from sklearn.linear_model import LinearRegression

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "infinity")

# (name, --inf-points, --inf-min, --inf-seed); None: the tool's default rule
# (15 points; 5000 from 10,000 samples on, N // 2 below; seed 0).
CASES = [("default", 15, None, 0), ("flags", 6, 120, 7)]


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """pytorch-fid 0.3.0's calculate_frechet_distance (sqrtm, eps retry)."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def inception_score_one_split(pred):
    kl = pred * (np.log(pred) - np.log(np.expand_dims(np.mean(pred, 0), 0)))
    return float(np.exp(np.mean(np.sum(kl, 1))))


def extrapolate(counts, values):
    x = 1.0 / counts.reshape(-1, 1)
    y = np.array(values).reshape(-1, 1)
    reg = LinearRegression().fit(x, y)
    value = float(reg.predict(np.array([[0]]))[0, 0])
    residual = float(np.sqrt(np.mean((y - reg.predict(x)) ** 2)))
    stderr = float(scipy.stats.linregress(x[:, 0], y[:, 0]).intercept_stderr)
    return value, residual, stderr


def infinity(rows, counts, seed, metric):
    """The metric on the compounding shuffles' prefixes, then the line."""
    rng = np.random.RandomState(seed)
    rows = rows.copy()
    values = []
    for count in counts:
        rng.shuffle(rows)
        values.append(metric(rows[:count]))
    return extrapolate(counts, values), values


def case(pool, logits, real, points, minimum, seed):
    n = pool.shape[0]
    if minimum is None:
        minimum = 5000 if n >= 10000 else n // 2
    counts = np.linspace(minimum, n, points).astype("int32")
    fid = lambda a: frechet_distance(
        np.mean(a, axis=0), np.cov(a, rowvar=False), real["mu"], real["sigma"]
    )
    probabilities = scipy.special.softmax(logits, axis=1)
    (fid_inf, fid_res, fid_se), fids = infinity(pool, counts, seed, fid)
    (is_inf, is_res, is_se), scores = infinity(
        probabilities, counts, seed, inception_score_one_split
    )
    return {
        "counts": [int(c) for c in counts],
        "fid_inf": fid_inf,
        "fid_inf_residual": fid_res,
        "fid_inf_stderr": fid_se,
        "fid_inf_values": fids,
        "is_inf": is_inf,
        "is_inf_residual": is_res,
        "is_inf_stderr": is_se,
        "is_inf_values": scores,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", help="stackgan-eval binary to compare with")
    args = parser.parse_args()
    features = np.load(os.path.join(FIXTURE, "fake.npz"))
    pool = features["pool"].astype(np.float64)
    logits = features["logits"].astype(np.float64)
    real = np.load(os.path.join(FIXTURE, "real_stats.npz"))
    reference = {
        name: dict(case(pool, logits, real, points, minimum, seed),
                   points=points, min=minimum, seed=seed)
        for name, points, minimum, seed in CASES
    }
    reference["generated_by"] = "tests/reference/check_infinity.py"
    with open(os.path.join(FIXTURE, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    if args.bin:
        worst = 0.0
        for name, points, minimum, seed in CASES:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "score.json")
                command = [args.bin, "score", "--real", os.path.join(FIXTURE, "real_stats.npz"),
                           "--fake", os.path.join(FIXTURE, "fake.npz"), "--metrics",
                           "fid_inf,is_inf", "--inf-points", str(points), "--inf-seed",
                           str(seed), "--json", out, "--quiet"]
                if minimum is not None:
                    command += ["--inf-min", str(minimum)]
                subprocess.run(command, check=True)
                with open(out) as f:
                    got = json.load(f)
            for key in ("fid_inf", "is_inf", "fid_inf_stderr", "is_inf_stderr"):
                error = abs(got[key] - reference[name][key]) / abs(reference[name][key])
                worst = max(worst, error)
                print(f"{name} {key}: tool {got[key]!r} reference {reference[name][key]!r} rel {error:.2e}")
        print(f"largest relative difference {worst:.2e}")
        sys.exit(0 if worst <= 1e-6 else 1)


if __name__ == "__main__":
    main()
