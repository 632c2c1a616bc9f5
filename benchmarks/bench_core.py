"""Core reader benchmark (framepipe against decord, torchcodec and OpenCV): see framepipe/benchmark.py.

    python benchmarks/bench_core.py [--seconds 60] [--libs framepipe,decord] [--memory]

Same as ``framepipe bench``, keeping its generated videos in benchmarks/data.
"""

import os
import sys

from framepipe.tools.benchmark import main

if __name__ == "__main__":
    if "--data-dir" not in sys.argv:
        sys.argv += ["--data-dir", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")]
    main()
