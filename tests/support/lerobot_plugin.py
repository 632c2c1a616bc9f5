"""A pytest plugin that runs LeRobot's own test suite with framepipe decoding its videos.

LeRobot's tests are the strongest check of :mod:`framepipe.lerobot`: they exercise its datasets,
delta timestamps, depth, streaming and writers through ``decode_video_frames``. With this plugin, pytest
calls :func:`framepipe.lerobot.install` before collecting, so every LeRobot module (those the tests
import later included) decodes through framepipe, whatever backend a test names. Comparing a run with
the plugin against one without tells what changes (``scripts/lerobot-suite.sh`` does both)::

    python -m pytest -p support.lerobot_plugin path/to/lerobot/tests/datasets

LeRobot needs Python >= 3.12 and its own dependencies (torch, torchvision) for this.
"""

from __future__ import annotations

__all__ = ["pytest_configure", "pytest_report_header", "pytest_terminal_summary"]


def pytest_configure(config) -> None:
    """Switch LeRobot over before any test module is imported."""
    import framepipe.lerobot

    config._framepipe_replaced = framepipe.lerobot.install()


def pytest_report_header(config) -> str:
    replaced = getattr(config, "_framepipe_replaced", [])
    return f"framepipe.lerobot: installed, {len(replaced)} functions replaced ({', '.join(replaced)})"


def pytest_terminal_summary(terminalreporter) -> None:
    from framepipe.lerobot import default_pool

    s = default_pool().stats()  # forked DataLoader workers count in their own processes, not here
    terminalreporter.write_line(
        f"framepipe.lerobot (this process): {s.calls} decode calls, {s.opened} readers "
        f"opened, {s.reused} reused, {s.closed} closed"
    )
