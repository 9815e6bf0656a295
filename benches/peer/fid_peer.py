"""Time pytorch-fid 0.3.0's calculate_frechet_distance on the bench's 2048-d statistics.

Run `cargo bench --bench metrics` first (it writes target/bench-data/fid2048_*.npz), then
  python3 benches/peer/fid_peer.py [repeats]
Prints one line per case: seconds per call (min over repeats) and the FID value.
"""
import sys
import time
import warnings

import numpy as np
from pytorch_fid.fid_score import calculate_frechet_distance

warnings.simplefilter("ignore")  # scipy's deprecation of sqrtm(disp=...)
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 1
for case in ["pd", "singular"]:
    a = np.load(f"target/bench-data/fid2048_{case}_a.npz")
    b = np.load(f"target/bench-data/fid2048_{case}_b.npz")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fid = calculate_frechet_distance(a["mu"], a["sigma"], b["mu"], b["sigma"])
        times.append(time.perf_counter() - t0)
    print(f"pytorch-fid calculate_frechet_distance d2048 {case}: {min(times):.3f} s  (FID {fid:.9f})")
