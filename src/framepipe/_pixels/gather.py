"""Format stage of the file path: decoded frames into one output array, each frame converted once.

A plan names the frames a call needs (:mod:`.plan`); the decoder yields them in order (:mod:`.decode`).
:class:`Assembler` converts each one once (:class:`~framepipe.FrameFormat`), writes it into every
position that asks for it, and keeps the tail of the call in :class:`~.recent.RecentFrames` so that an
overlapping next call continues forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .._decode.plan import plan_request
from .._index.index import VideoIndex
from .._source.display import NO_DISPLAY, Display
from ..errors import FrameSizeChangedError, TooLargeError
from ..types import FrameIssue
from .convert import Converter, DecodedPicture, PlanarImage
from .format import FrameFormat
from .recent import RecentFrames

__all__ = ["Assembler"]

_CHANNELS_FIRST = frozenset({"NCHW", "NTCHW", "NCTHW"})

Decoded = Callable[[np.ndarray], Iterator[tuple[int, object, "FrameIssue | None"]]]


class Assembler:
    """Owns a reader's conversion state: the output format, the swscale context and the recent frames."""

    def __init__(
        self,
        fmt: FrameFormat,
        path: str,
        *,
        threads: int = 0,
        display: Display = NO_DISPLAY,
        keep_recent: bool = True,
    ) -> None:
        self.fmt = fmt
        self._pixel_bytes = fmt.channels * np.dtype(fmt.dtype).itemsize  # output bytes a pixel
        # the display matrix of the file (from its index): every frame is turned the same way
        self.display = display if fmt.rotation == "auto" else NO_DISPLAY
        self.threads = 1 if threads == 1 else None  # a reader told to use one thread: swscale too
        self.path = path
        self.recent = RecentFrames(max_bytes=None if keep_recent else 0)
        self.converter = Converter()  # re-makes itself in a forked child

    def convert(self, frame, layout: str = "NHWC") -> np.ndarray | PlanarImage:
        return self.fmt.convert(
            frame,
            self.converter,
            threads=self.threads,
            display=self.display,
            channels_first=layout in _CHANNELS_FIRST,
        )

    def check_output(self, frames: int, height: int, width: int) -> None:
        """Refuse, before allocating, an output of ``frames`` frames larger than the format's limit.

        Raises:
            TooLargeError: the output would pass ``max_bytes`` (or the process-wide limit).
        """
        h, w = self.fmt.frame_hw(height, width)
        need = frames * h * w * self._pixel_bytes
        limit = self.fmt.output_limit()
        if need > limit:
            raise TooLargeError(
                self.path,
                f"this call would allocate {need:,} bytes for {frames} frames of {w}x{h}, more than "
                f"max_bytes={limit:,} allows; ask for fewer or smaller frames (size=), or raise the limit "
                "(max_bytes= on open, framepipe.set_max_output_bytes, $FRAMEPIPE_MAX_OUTPUT_BYTES)",
            )

    def gather(self, idx: np.ndarray, layout: str, index: VideoIndex, decoded: Decoded):
        """Decode ``idx`` (any shape: (N,) frames or (B, T) clips) into one output array.

        Returns (data, which positions got a frame: None when all did, issues). This runs once per call
        of every reader (LeRobot's few frames included), so its per-frame work stays plain Python.
        """
        request = plan_request(idx)
        targets = request.targets
        height, width = self.display.shape(index.height, index.width)
        self.check_output(idx.size, height, width)
        out = self.fmt.alloc(idx.shape, height, width, layout)
        out_hw = self.fmt.frame_hw(height, width)
        got = [False] * len(targets)
        place, own_slot = self.fmt.place, request.positions is None

        def put(slot: int, img: np.ndarray | PlanarImage | DecodedPicture) -> None:
            if isinstance(img, DecodedPicture):
                img = self.convert(img.frame, layout)
            if img.shape[:2] != out_hw:  # only without size=: resizing gives every frame the same shape
                raise FrameSizeChangedError(
                    self.path,
                    f"frame {targets[slot]} is {img.shape[1]}x{img.shape[0]}, the stream starts at "
                    f"{out_hw[1]}x{out_hw[0]}; pass size= to resize all frames",
                )
            got[slot] = True
            if own_slot:
                place(img, out, (slot,), layout)
            else:
                for where in request.where(slot):
                    place(img, out, where, layout)

        kept = self.recent.snapshot()  # another thread may evict meanwhile: read this dict only
        wanted = targets.tolist()
        todo = targets
        if kept:
            hit = [f in kept for f in wanted]
            if any(hit):
                for k, f in enumerate(wanted):
                    if hit[k]:
                        put(k, kept[f])
                todo = targets[~np.array(hit)]
        slots = {f: k for k, f in enumerate(wanted)}
        keep_from = self.recent.keep_after(wanted) if wanted else None
        # the frames to keep, the newest first to stay: never more than the budget, so that a long call's
        # peak is its output plus the budget, not its output twice
        fresh: dict[int, np.ndarray | PlanarImage | DecodedPicture] = {}
        fresh_bytes, cap = 0, self.recent.cap() if keep_from is not None else 0
        issues: list[FrameIssue] = []
        for frame_index, frame, issue in decoded(todo):
            if issue is not None:
                issues.append(issue)
            if frame is not None:
                img = self.convert(frame, layout)
                put(slots[frame_index], img)
                if issue is None and keep_from is not None and frame_index > keep_from:
                    # the smaller form: a full-size RGB picture is kept as its decoded frame (half the bytes
                    # for 4:2:0), converted again if asked; a resized one as it is
                    size = DecodedPicture.size_of(frame)
                    kept_as = DecodedPicture(frame, size) if size < img.nbytes else img
                    fresh[frame_index] = kept_as
                    fresh_bytes += kept_as.nbytes
                    while fresh_bytes > cap and fresh:  # the plan decodes forward: the first kept is oldest
                        fresh_bytes -= fresh.pop(next(iter(fresh))).nbytes
        if keep_from is None:  # random access (or no budget): what is kept will not be asked again
            if kept:
                self.recent.clear()
        elif fresh or kept:
            self.recent.keep(fresh, last=wanted[-1])
        return out, None if all(got) else np.array(got)[request.slot_of], issues
