#!/usr/bin/env bash
# Installs what stackgan-eval needs on a fresh Debian machine, and nothing
# that is already there:
#   - OpenBLAS with LAPACK (Debian libopenblas-dev), for FID's eigen-solvers;
#   - libjpeg-turbo's TurboJPEG (Debian libturbojpeg0-dev), the JPEG decoder
#     Pillow uses, so that JPEGs decode to Pillow's exact pixels;
#   - Debian's Slurm (slurmctld, slurmd, slurm-client) and MUNGE, for the
#     test that runs examples/slurm/ on a one-node cluster
#     (scripts/slurm-cluster.sh; nothing is configured or started here);
#   - Debian's Chromium, the headless browser the test of the HTML page
#     opens the demo's index.html in;
#   - .venv, a project-local virtualenv holding the pinned ONNX Runtime from
#     PyPI, whose libonnxruntime.so the tool loads at run time.
# STACKGAN_EVAL_GPU=1 installs onnxruntime-gpu (CUDA 13) instead.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.31.1
package=onnxruntime
[ "${STACKGAN_EVAL_GPU:-0}" = 1 ] && package=onnxruntime-gpu

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! dpkg -s libopenblas-dev >/dev/null 2>&1 || ! dpkg -s libturbojpeg0-dev >/dev/null 2>&1 \
    || ! command -v pkg-config >/dev/null 2>&1; then
    echo "setup: installing libopenblas-dev, libturbojpeg0-dev and pkg-config (LAPACK for FID, Pillow's JPEG decoder)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev libturbojpeg0-dev pkg-config >/dev/null
fi

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 \
    || ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    echo "setup: installing slurmctld, slurmd, slurm-client and munge (the one-node Slurm cluster of the tests)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
fi

if ! command -v chromium >/dev/null 2>&1; then
    echo "setup: installing chromium (the headless browser the HTML page's test opens it in)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium >/dev/null
fi

if ! ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* >/dev/null 2>&1 \
    || ! .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('$package') != '$ORT_VERSION')" 2>/dev/null; then
    echo "setup: installing $package==$ORT_VERSION into .venv (the ONNX Runtime library)" >&2
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check "$package==$ORT_VERSION"
fi
