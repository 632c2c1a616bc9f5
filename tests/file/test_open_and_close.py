"""Readers open and close cleanly however the process is set up."""

from __future__ import annotations

import subprocess
import sys

from framepipe.tools.synthetic import make_video

_CYCLES = """
import sys
import av.logging
import framepipe
av.logging.set_level(av.logging.WARNING)  # PyAV's Python log callback on, as applications often do
for i in range(300):
    with framepipe.open(sys.argv[1], threads=0) as video:  # frame threads
        video.get_frames([i % 50, 55])
print("done")
"""


def test_close_never_hangs_with_pyav_logging_and_frame_threads(tmp_path):
    """Freeing a frame-threaded codec joined its threads while holding the GIL; a thread logging through
    PyAV's callback waited for that GIL: a deadlock within a few hundred cycles. In a child process,
    with a timeout, so a regression fails instead of hanging the suite."""
    path = make_video(tmp_path / "v.mp4", num_frames=60, bframes=3, gop=12, width=320, height=180)
    proc = subprocess.run(
        [sys.executable, "-c", _CYCLES, str(path)], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "done", proc.stderr[-2000:]


_LEAKS = """
import gc, os, sys
import framepipe

def counts():
    gc.collect()
    rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20
    return len(os.listdir("/proc/self/task")), len(os.listdir("/proc/self/fd")), rss

with framepipe.open(sys.argv[1]) as v:  # warm up: first-use allocations are not leaks
    v.get_frames([0, 30])
before = counts()
for i in range(200):
    with framepipe.open(sys.argv[1]) as v:
        v.get_frames([0])  # decode one keyframe
after = counts()
print(*before, *after)
"""


def test_open_decode_close_cycles_leave_threads_fds_and_memory_where_they_were(tmp_path):
    path = make_video(tmp_path / "v.mp4", num_frames=60, bframes=3, gop=12, width=320, height=180)
    proc = subprocess.run(
        [sys.executable, "-c", _LEAKS, str(path)], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    threads0, fds0, rss0, threads1, fds1, rss1 = map(int, proc.stdout.split())
    assert threads1 == threads0 and fds1 == fds0, proc.stdout
    assert rss1 - rss0 <= 10, proc.stdout  # MB: 200 readers' worth of anything would be far more
