"""Convert StackGAN's char-CNN-RNN text embeddings (Python-2 pickles) to .npy and a names file.

    python models/convert_embeddings.py --embeddings data/birds/test/char-CNN-RNN-embeddings.pickle \
        --filenames data/birds/test/filenames.pickle --out cub-test

writes `cub-test.npy` (float32, [images, captions, dim]; CUB test: 2933 x 10 x 1024)
and `cub-test.txt` (one image name per line, e.g. `002.Laysan_Albatross/Laysan_Albatross_0002_1027`),
in the same order. The pickles were written by Python 2, so they are read with
`encoding='latin1'`; the embeddings are a [images, captions, dim] array or a
list of [captions, dim] arrays (one per image).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np


class ConvertError(ValueError):
    """An input pickle is not what StackGAN's data release holds."""


def _unpickle(path: Path):
    if not path.is_file():
        raise ConvertError(f"{path} does not exist; see models/README.md for where to get StackGAN's embeddings")
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise ConvertError(f"{path} is not a readable pickle ({err})") from err


def load_embeddings(path: str | Path) -> np.ndarray:
    """[images, captions, dim] float32 from a char-CNN-RNN embeddings pickle."""
    path = Path(path)
    obj = _unpickle(path)
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise ConvertError(f"{path} holds an empty list of embeddings")
        shapes = {np.shape(e) for e in obj}
        if len(shapes) != 1:
            raise ConvertError(f"{path}: per-image embeddings differ in shape ({sorted(shapes)[:4]}); "
                               "expected one [captions, dim] array per image")
        obj = np.stack([np.asarray(e) for e in obj])
    array = np.asarray(obj)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise ConvertError(f"{path} holds {array.dtype} data, not numbers")
    if array.ndim == 2:  # one embedding per image (some datasets): [images, dim] -> [images, 1, dim]
        array = array[:, None, :]
    if array.ndim != 3 or 0 in array.shape:
        raise ConvertError(f"{path} has shape {list(array.shape)}; expected [images, captions, dim] "
                           "(CUB test: [2933, 10, 1024])")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ConvertError(f"{path} contains NaN or infinite values")
    return array


def load_filenames(path: str | Path) -> list[str]:
    """Image names from a `filenames.pickle` (a list of str or bytes)."""
    path = Path(path)
    obj = _unpickle(path)
    if not isinstance(obj, (list, tuple)):
        raise ConvertError(f"{path} holds a {type(obj).__name__}, expected a list of file names")
    names = []
    for i, name in enumerate(obj):
        if isinstance(name, bytes):
            name = name.decode("utf-8")
        if not isinstance(name, str) or not name or "\n" in name:
            raise ConvertError(f"{path}: entry {i} ({name!r}) is not a one-line file name")
        names.append(name)
    return names


def convert(embeddings, out, filenames=None) -> tuple[Path, Path | None, tuple]:
    """Write `<out>.npy` (and `<out>.txt` from `filenames`); returns (npy, txt, shape)."""
    array = load_embeddings(embeddings)
    names = load_filenames(filenames) if filenames is not None else None
    if names is not None and len(names) != array.shape[0]:
        raise ConvertError(f"{filenames} lists {len(names)} images but {embeddings} has {array.shape[0]}; "
                           "use the two files of the same split (train/ or test/)")
    out = Path(out)
    out = out.with_suffix("") if out.suffix in (".npy", ".txt") else out
    out.parent.mkdir(parents=True, exist_ok=True)
    npy = out.parent / f"{out.name}.npy"
    np.save(npy, array)
    txt = None
    if names is not None:
        txt = out.parent / f"{out.name}.txt"
        txt.write_text("".join(n + "\n" for n in names))
    return npy, txt, array.shape


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--embeddings", required=True, help="char-CNN-RNN-embeddings.pickle")
    p.add_argument("--filenames", help="filenames.pickle of the same split")
    p.add_argument("--out", required=True, help="output stem: writes <out>.npy and <out>.txt")
    args = p.parse_args(argv)
    npy, txt, shape = convert(args.embeddings, args.out, args.filenames)
    print(f"wrote {npy} {list(shape)} float32" + (f" and {txt}" if txt else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ConvertError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
