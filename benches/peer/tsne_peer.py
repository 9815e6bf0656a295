"""t-SNE speed and quality: scikit-learn against `stackgan-eval`'s analysis::embed.

  python3 benches/peer/tsne_peer.py [--rust-bin PATH] [--n 5000] [--dim 2048]

Makes N × D seeded float32 features with structure (a mixture of 20 Gaussians in
a random 32-d subspace of R^D, plus isotropic noise; target/bench-data/tsne_features.npy),
then times scikit-learn: PCA to 50 dimensions (svd_solver='covariance_eigh', the same
covariance-eigenvector route as the Rust code) followed by TSNE(n_components=2,
perplexity=30, init='random', method='barnes_hut', angle=0.5, max_iter=1000,
random_state=0; learning_rate='auto', early_exaggeration=12, its defaults).
With --rust-bin (the release build of examples/tsne_timing.rs) it runs the same
features through Rust and prints both times, their ratio and the trustworthiness
(k = 10, scikit-learn's function, against the D-dimensional features) of both maps.
"""
import argparse
import json
import os
import subprocess
import time

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, trustworthiness
from threadpoolctl import threadpool_info

OUT = "target/bench-data"


def make_features(n, dim, seed=0):
    rs = np.random.RandomState(seed)
    latent_dim, clusters = 32, 20
    basis = np.linalg.qr(rs.standard_normal((dim, latent_dim)))[0].T  # 32 × D, orthonormal rows
    centres = rs.standard_normal((clusters, latent_dim)) * 4.0
    labels = rs.randint(clusters, size=n)
    latent = centres[labels] + rs.standard_normal((n, latent_dim))
    x = latent @ basis + 0.05 * rs.standard_normal((n, dim))
    return x.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rust-bin")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--dim", type=int, default=2048)
    args = ap.parse_args()

    os.makedirs(OUT, exist_ok=True)
    features = make_features(args.n, args.dim)
    path = f"{OUT}/tsne_features.npy"
    np.save(path, features)
    print(f"features {features.shape} float32 -> {path}; load average {os.getloadavg()}")
    print(f"scikit-learn {sklearn.__version__}; thread pools: "
          + ", ".join(f"{p['internal_api']}={p['num_threads']}" for p in threadpool_info()))

    t0 = time.perf_counter()
    reduced = PCA(n_components=50, svd_solver="covariance_eigh").fit_transform(features)
    t1 = time.perf_counter()
    sk_map = TSNE(n_components=2, perplexity=30, init="random", method="barnes_hut",
                  angle=0.5, max_iter=1000, random_state=0).fit_transform(reduced)
    t2 = time.perf_counter()
    sk = {"pca_s": t1 - t0, "tsne_s": t2 - t1, "total_s": t2 - t0}
    high = features.astype(np.float64)
    sk["trust10"] = trustworthiness(high, sk_map, n_neighbors=10)
    print("sklearn: " + json.dumps({k: round(v, 4) for k, v in sk.items()}))

    if args.rust_bin:
        out = f"{OUT}/tsne_rust_map.npy"
        t0 = time.perf_counter()
        line = subprocess.run([args.rust_bin, path, out], check=True, capture_output=True,
                              text=True).stdout.strip().splitlines()[-1]
        wall = time.perf_counter() - t0
        rust = json.loads(line)
        rust["process_s"] = wall
        rust["trust10"] = trustworthiness(high, np.load(out), n_neighbors=10)
        print("rust:    " + json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                        for k, v in rust.items()}))
        print(f"time ratio rust/sklearn (PCA + t-SNE): {rust['embed_s'] / sk['total_s']:.3f}; "
              f"trustworthiness rust − sklearn: {rust['trust10'] - sk['trust10']:+.4f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
