"""Constants shared by more than one stage; one definition each."""

from __future__ import annotations

import numpy as np

__all__ = ["VIDEO_EXTENSIONS", "TIME_TOLERANCE", "NOPTS"]

# file name endings taken for videos when a folder is scanned (dataset folders, `framepipe clips`)
VIDEO_EXTENSIONS = (
    ".mp4",
    ".mkv",
    ".avi",
    ".mov",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".ts",
    ".mts",
    ".m2ts",
    ".flv",
    ".wmv",
)

# Seconds of slack when a time is compared with frame timestamps, so that a time typed as a frame's pts
# (0.1 for a frame at 0.1000000000002) selects that frame despite float rounding. One microsecond is
# far below any real frame interval (a 1000 fps camera's is 1000 microseconds).
TIME_TOLERANCE = 1e-6

# "no timestamp" in int64 timestamp arrays (FFmpeg's AV_NOPTS_VALUE)
NOPTS = int(np.iinfo(np.int64).min)

# up to this many values (a LeRobot call's few frames), plain Python compares them faster than one numpy
# call does: the per-call checks take that route for small inputs
FEW_VALUES = 8
