"""Keras 3 adapter: ``TimeseriesGenerator``, Keras's parameters and batch math over frames loaded on demand.

Needs ``pip install framepipe[keras]`` and any Keras 3 backend (the tests use torch; TensorFlow is not
required).

>>> import os, tempfile
>>> from framepipe.tools.synthetic import make_video
>>> from framepipe.keras import TimeseriesGenerator
>>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=40)
>>> gen = TimeseriesGenerator(path, length=8, sampling_rate=2, stride=4, batch_size=3, size=(32, 32))
>>> len(gen), gen[0].shape
(3, (3, 4, 32, 32, 3))
"""

from __future__ import annotations

from ._util.extras import require

_BACKEND_HINT = (
    "; Keras 3 imports its backend (TensorFlow by default): install one, or set KERAS_BACKEND=torch or "
    "KERAS_BACKEND=jax before importing keras"
)
require(
    "keras", extra="keras", what="framepipe.keras", hints={"tensorflow": _BACKEND_HINT, "jax": _BACKEND_HINT}
)

from ._adapters.keras_clips import ClipSequence  # noqa: E402
from ._adapters.keras_sequences import TimeseriesGenerator  # noqa: E402

__all__ = ["TimeseriesGenerator", "ClipSequence"]
