"""Load LeRobot's ``lerobot.datasets.video_utils`` on Python 3.11, for comparisons in tests and benchmarks.

LeRobot 0.6.1 declares Python >= 3.12 and its package ``__init__`` files use 3.12 syntax, but
``video_utils`` itself is plain 3.11 Python. Installed with
``pip install --no-deps --ignore-requires-python lerobot==0.6.1`` (plus ``datasets`` and ``draccus``, which
it imports), it loads here once the parent packages are stood in for by empty ones. On Python 3.12 and
later, LeRobot imports normally and this returns its module as it is.

>>> module = load_lerobot_video_utils()
>>> module is None or hasattr(module, "decode_video_frames_pyav")
True
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys
import types

__all__ = ["load_lerobot_video_utils"]


def load_lerobot_video_utils() -> types.ModuleType | None:
    """LeRobot's own ``video_utils`` where LeRobot is installed, else None (never a stand-in).

    Returns:
        The module, or None when LeRobot (or what ``video_utils`` imports) is not installed.
    """
    if "lerobot.datasets.video_utils" in sys.modules:
        return sys.modules["lerobot.datasets.video_utils"]
    spec = importlib.util.find_spec("lerobot")
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        return importlib.import_module("lerobot.datasets.video_utils")  # Python 3.12+: as it is
    except (SyntaxError, ImportError):
        pass  # 3.12 syntax in a package __init__, or what those import is missing: go around the packages
    for name in [n for n in sys.modules if n == "lerobot" or n.startswith("lerobot.")]:
        del sys.modules[name]  # what the failed import left half-made
    root = pathlib.Path(list(spec.submodule_search_locations)[0])
    import av

    if not hasattr(av, "option"):  # lerobot 0.6.1 pins av<16, which had av.option (used in one type hint)
        av.option = types.SimpleNamespace(Option=object)
    stubs = ("lerobot", "lerobot.datasets", "lerobot.configs", "lerobot.utils")
    for name in stubs:
        package = types.ModuleType(name)
        package.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
        sys.modules[name] = package
    try:
        video = importlib.import_module("lerobot.configs.video")
        vars(sys.modules["lerobot.configs"]).update(
            {k: v for k, v in vars(video).items() if not k.startswith("_")}
        )
        return importlib.import_module("lerobot.datasets.video_utils")
    except ImportError:  # what video_utils imports (datasets, draccus, ...) is missing
        for name in [n for n in sys.modules if n == "lerobot" or n.startswith("lerobot.")]:
            del sys.modules[name]
        return None
