#!/bin/bash
# CUDA against CPU: the demo pipeline (scores and generate → eval), the
# generator fixtures against the upstream networks' outputs, and generation
# speed of a full-size StackGAN-v2 birds generator on either device.
#
#   STACKGAN_EVAL_GPU=1 scripts/setup.sh     # onnxruntime-gpu into .venv
#   tests/reference/check_cuda.sh [path/to/stackgan-eval]
#
# Needs a GPU, numpy, Pillow and (for the speed part) torch; run from the
# repository root. Not part of CI, which has no GPU.
set -u
export PYTHONUNBUFFERED=1
SGE=${1:-target/release/stackgan-eval}
OUT=${OUT:-/tmp/cuda-check}; mkdir -p $OUT
echo "== demo on cuda"; TIMEFORMAT="demo cuda %R s"; time $SGE demo --device cuda --out /tmp/demo-cuda 2>&1 | tail -4
echo "== demo on cpu";  TIMEFORMAT="demo cpu %R s"; time $SGE demo --device cpu --out /tmp/demo-cpu 2>&1 | tail -2
python3 - <<'PY'
import json, glob, os
for f in sorted(glob.glob('/tmp/demo-cuda/*.json')):
    a = json.load(open(f)); b = json.load(open(f.replace('demo-cuda', 'demo-cpu')))
    def flat(d, p=''):
        out = {}
        if isinstance(d, dict):
            for k, v in d.items(): out.update(flat(v, p + k + '.'))
        elif isinstance(d, list):
            for i, v in enumerate(d): out.update(flat(v, p + str(i) + '.'))
        elif isinstance(d, float): out[p[:-1]] = d
        return out
    fa, fb = flat(a), flat(b)
    worst = max(((abs(fa[k] - fb[k]) / max(abs(fb[k]), 1e-9), k) for k in fa if k in fb), default=(0, ''))
    print(os.path.basename(f), 'provider', a.get('provider') or a['branches'][0]['provider'], 'max rel diff cuda vs cpu %.3e (%s)' % worst)
PY
echo "== generator fixtures on cuda"
for name in tiny-v2-cond tiny-v2-uncond tiny-v1-stage1 tiny-v1-stage2; do
python3 - $name <<'PY'
import sys, numpy as np
name = sys.argv[1]; d = np.load(f'tests/fixtures/generators/{name}.npz')
np.savez(f'/tmp/{name}-noise.npz', **{k[6:]: d[k] for k in d.files if k.startswith('input_')})
PY
rm -rf /tmp/gen-$name; $SGE generate --model tests/fixtures/generators/$name.onnx --noise /tmp/$name-noise.npz --out /tmp/gen-$name --save-raw --device cuda --quiet
python3 - $name <<'PY'
import sys, numpy as np
name = sys.argv[1]; d = np.load(f'tests/fixtures/generators/{name}.npz'); r = np.load(f'/tmp/gen-{name}/raw.npz')
worst = 0
for k in d.files:
    if not k.startswith('output_'): continue
    o = k[7:]; got = r[o]
    if f'stride_{o}' in d.files: s = int(d[f'stride_{o}']); got = got[:, :, ::s, ::s]
    worst = max(worst, float(np.abs(got - d[k]).max()))
print(name, 'cuda vs upstream max abs diff %.2e' % worst)
PY
done
echo "== throughput, full-size v2 birds generator (export only)"
timeout 200 python3 benches/peer/generate_peer.py --samples 24 --batch-size 24 --threads 16 --workdir /tmp/peer 2>&1 | tail -3
if [ -f /tmp/peer/G.onnx ]; then
  python3 -c "import numpy as np; np.save('/tmp/emb480.npy', np.random.RandomState(0).standard_normal((480,1,1024)).astype(np.float32))"
  for dev in cuda cuda cpu; do rm -rf /tmp/t-$dev; TIMEFORMAT="generate 480 samples on $dev: %R s"; time $SGE generate --model /tmp/peer/G.onnx --embeddings /tmp/emb480.npy --out /tmp/t-$dev --batch-size 24 --device $dev --quiet; done
  python3 -c "
import numpy as np, PIL.Image as I
for b in (64,128,256):
    d=[int(np.abs(np.asarray(I.open(f'/tmp/t-cuda/{b}/{i:06d}.png'),int)-np.asarray(I.open(f'/tmp/t-cpu/{b}/{i:06d}.png'),int)).max()) for i in range(480)]
    print(b, 'px PNG level differences cuda vs cpu over 480 samples: max', max(d), 'samples differing', sum(x>0 for x in d))"
  cmp <(cd /tmp/t-cuda && cat samples.csv) <(cd /tmp/t-cpu && cat samples.csv) && echo "samples.csv identical"
  python3 -c "
import numpy as np, PIL.Image as I
d=[np.abs(np.asarray(I.open(f'/tmp/t-cuda/256/{i:06d}.png'),int)-np.asarray(I.open(f'/tmp/t-cpu/256/{i:06d}.png'),int)).max() for i in range(0,480,37)]
print('256px PNG max level difference cuda vs cpu over 13 samples:', max(d))"
fi
cp /tmp/demo-cuda/*.json $OUT/ 2>/dev/null; true
