"""Keras on TensorFlow: ``model.fit`` fed by framepipe's ``TimeseriesGenerator`` as a ``PyDataset``
(threads, processes) against the same generator's ``to_tf_dataset()``, in one run, with two floors:

  decode floor   the generator's batches read in a plain loop (no model): what decoding alone costs
  fit floor      ``model.fit`` on the same batches held in memory (no decoding): what the model costs

The videos: 2 generated 640x360 H.264 videos (10 s at 30 fps, B-frames); windows of 16 frames every 2nd,
one every 4 rows, 112x112 float32, batches of 8, shuffled; a small Conv3D model; 2 epochs a round,
3 rounds taking turns. Runs with KERAS_BACKEND=tensorflow (set here).

    python benchmarks/bench_keras.py [--rounds 3] [--json results/keras_<date>.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS = 2


def videos(n: int = 2) -> list[str]:
    from framepipe.tools.synthetic import make_video

    folder = os.path.join(HERE, "data", "keras")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for v in range(n):
        path = os.path.join(folder, f"v{v}.mp4")
        if not os.path.exists(path):
            make_video(path, num_frames=300, width=640, height=360, fps=30, gop=60, bframes=2, noise=8)
        paths.append(path)
    return paths


def generator(paths: list[str], **kw):
    from framepipe.keras import TimeseriesGenerator

    targets = [(np.arange(300) // 150).astype("float32") for _ in paths]
    return TimeseriesGenerator(paths, targets, 32, 2, 4, batch_size=8, size=112, shuffle=True, seed=0, **kw)


def model():
    m = keras.Sequential(
        [
            keras.Input((16, 112, 112, 3)),
            keras.layers.Conv3D(8, 3, strides=2, activation="relu"),
            keras.layers.GlobalAveragePooling3D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    m.compile(optimizer="adam", loss="binary_crossentropy")
    return m


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run_round(paths: list[str]) -> dict[str, float]:
    out = {}
    gen = generator(paths)
    out["decode floor"] = timed(lambda: [gen.batch(i, e) for e in range(EPOCHS) for i in range(len(gen))])
    held = [gen.batch(i, 0) for i in range(len(gen))]
    x, y = np.concatenate([b[0] for b in held]), np.concatenate([b[1] for b in held])
    m = model()
    out["fit floor (batches in memory)"] = timed(
        lambda: m.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, shuffle=False)
    )
    for name, kw in (
        ("PyDataset, workers=1", {}),
        ("PyDataset, workers=2 threads", dict(workers=2)),
        ("PyDataset, workers=2 processes", dict(workers=2, use_multiprocessing=True)),
    ):
        g = generator(paths, **kw)
        m = model()
        out[name] = timed(lambda m=m, g=g: m.fit(g, epochs=EPOCHS, verbose=0))
    g = generator(paths)
    m = model()
    out["to_tf_dataset()"] = timed(lambda: m.fit(g.to_tf_dataset(), epochs=EPOCHS, verbose=0, shuffle=False))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    paths = videos()
    gen = generator(paths)
    rounds = [run_round(paths) for _ in range(args.rounds)]
    names = list(rounds[0])
    medians = {n: statistics.median(r[n] for r in rounds) for n in names}
    base = medians["to_tf_dataset()"]
    print(f"{len(gen)} batches x {EPOCHS} epochs, median of {args.rounds} rounds (Keras {keras.__version__})")
    for n in names:
        print(f"  {n:34s} {medians[n]:6.2f} s  ({medians[n] / base:.2f}x to_tf_dataset)")
    if args.json:
        import tensorflow as tf

        result = dict(
            machine=f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}",
            keras=keras.__version__,
            tensorflow=tf.__version__,
            batches=len(gen),
            epochs=EPOCHS,
            rounds=[{k: round(v, 3) for k, v in r.items()} for r in rounds],
            medians={k: round(v, 3) for k, v in medians.items()},
        )
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
