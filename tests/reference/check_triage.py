"""Independent reference for the failure triage (numpy and scipy only).

Run from the repository root after tests/fixtures/triage/make.py:
    python tests/reference/check_triage.py
Writes tests/fixtures/triage/reference.json, which
tests/suite/collapse_triage.rs compares with `stackgan-eval score --metrics
prdc,is` on the same feature files.

The rules, from the StackGAN++ paper's failure kinds as the README states them:
- severe: the nearest OTHER fake sample is strictly closer than the 0.05
  quantile (np.quantile, linear) of the real set's nearest-other distances;
  score = that distance, smaller is worse;
- moderate: no real k-NN ball holds the sample (radius = distance to the k-th
  nearest OTHER real sample, inside = strictly closer, k = 5); score = the
  smallest distance / radius over the real samples, larger is worse;
- mild: the largest softmax probability of its logits (float64) is strictly
  below 0.5; score = that probability, smaller is worse;
- first rule that holds wins; worst 8 per kind, ties to the lower index.
Distances: scipy cdist (float64 coordinate differences).
"""
import json
import os

import numpy as np
import scipy
from scipy.spatial.distance import cdist
from scipy.special import softmax

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "triage")
K, QUANTILE, CONFIDENCE, WORST = 5, 0.05, 0.5, 8


def main():
    real = np.load(os.path.join(ROOT, "real.npz"))
    fake = np.load(os.path.join(ROOT, "fake.npz"))
    r = real["pool"].astype(np.float64)
    f = fake["pool"].astype(np.float64)
    files = [str(x) for x in fake["files"]]

    rr = cdist(r, r)
    np.fill_diagonal(rr, np.inf)
    threshold = float(np.quantile(rr.min(axis=1), QUANTILE))
    radii = np.sort(rr, axis=1)[:, K - 1]

    ff = cdist(f, f)
    np.fill_diagonal(ff, np.inf)
    nearest_other = ff.min(axis=1)

    rf = cdist(f, r)  # (fake, real)
    inside = (rf < radii[None, :]).any(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.nanmin(np.where(radii[None, :] > 0, rf / radii[None, :], np.inf), axis=1)

    confidence = softmax(fake["logits"].astype(np.float64), axis=1).max(axis=1)

    kinds, scores = [], []
    for i in range(len(f)):
        if nearest_other[i] < threshold:
            kinds.append("severe"), scores.append(nearest_other[i])
        elif not inside[i]:
            kinds.append("moderate"), scores.append(ratio[i])
        elif confidence[i] < CONFIDENCE:
            kinds.append("mild"), scores.append(confidence[i])
        else:
            kinds.append("fine"), scores.append(None)

    examples = []
    for kind in ["severe", "moderate", "mild"]:
        members = [i for i in range(len(f)) if kinds[i] == kind]
        sign = -1.0 if kind == "moderate" else 1.0
        members.sort(key=lambda i: (sign * scores[i], i))
        for i in members[:WORST]:
            examples.append({"kind": kind, "index": i, "file": files[i], "score": float(scores[i])})

    reference = {
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
        "k": K,
        "duplicate_quantile": QUANTILE,
        "confidence_threshold": CONFIDENCE,
        "worst_per_kind": WORST,
        "duplicate_distance": threshold,
        "precision": float(inside.mean()),
        "counts": {k: kinds.count(k) for k in ["severe", "moderate", "mild", "fine"]},
        "kinds": kinds,
        "examples": examples,
    }
    with open(os.path.join(ROOT, "reference.json"), "w") as out:
        json.dump(reference, out, indent=1)
        out.write("\n")
    print(reference["counts"], "threshold", threshold)


if __name__ == "__main__":
    main()
