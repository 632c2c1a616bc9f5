"""Decode stage: one open container and codec context, and what to do with a frame that fails to decode.

Two strategies execute plans on top of :class:`Decoder`: :class:`~.seeking.SeekingDecoder` (the packet
index names every frame: seek to keyframes, decode forward) and :class:`~.sequential.SequentialDecoder`
(the container's timestamps cannot be trusted: count decoded frames from the first packet).
The reader picks the one its index calls for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import av
import numpy as np

from .._index.index import VideoIndex
from .._source.source import DEMUX_ERRORS, Opened, Source
from .._util.fork import keep_forever, track
from ..errors import CorruptFrameError
from ..types import FrameIssue

__all__ = ["Decoder", "IndexMismatch", "CONCEALED"]

CONCEALED = "FFmpeg flagged the decoded picture as corrupt (damaged data, concealed)"


class IndexMismatch(Exception):
    """The packets or frames a decode produced disagree with the index (internal: the reader stops seeking,
    then loses the frames through ``on_error`` if they disagree even demuxing from the first packet)."""


class Decoder:
    """Owns the container and codec context of one reader; subclasses yield requested frames in order.

    ``frames(targets)`` yields ``(frame_index, av.VideoFrame | None, FrameIssue | None)`` for each of the
    ascending unique ``targets``; the frame is None only for a frame left out under ``on_error="skip"``.
    """

    def __init__(self, source: Source, index: VideoIndex, *, threads: int, on_error: str) -> None:
        self.source = source
        self.index = index
        self.threads = threads
        self.on_error = on_error
        self._opened: Opened | None = None
        self._container: Any = None  # av.container.InputContainer
        self._stream: Any = None  # av.video.stream.VideoStream
        self._packets: Iterator[Any] | None = None
        self._last_good = None  # the last frame decoded intact: what on_error="previous" repeats
        self.demux_error: str | None = None  # why the demuxer stopped early, if it did
        self.packets_decoded = 0  # for tests and benchmarks: how much work calls cost
        self.packets_read = 0  # demuxed, decoded or not (a seek that lands early reads packets it skips)
        self.pictures_decoded = 0  # pictures that came out (fewer than packets when B-frames are skipped)
        self.seeks = 0
        track(self)

    def frames(self, targets):
        raise NotImplementedError

    def checked_frames(self, targets: np.ndarray) -> Iterator[tuple[int, object, FrameIssue | None]]:
        """:meth:`frames` for ascending unique ``targets``, kept to the index.

        The index, and so ``num_frames``, never changes after open. Should packets disagree with it after a
        seek, the decoder stops seeking (it reaches keyframes by demuxing from the first packet) and
        decoding goes on after the last frame yielded; should they disagree even then, the frames left are
        lost, and ``on_error`` says what that does.
        """
        done = -1
        while True:
            try:
                for item in self.frames(targets[targets > done]):
                    done = item[0]
                    yield item
                return
            except IndexMismatch as exc:
                if self.distrust_seeking():
                    continue
                why = f"the file's packets disagree with its index ({exc})"
                for frame in targets[targets > done]:
                    yield self.lost(int(frame), why)
                return

    def keyframe_pictures(self, targets: np.ndarray) -> Iterator[tuple[int, object, FrameIssue | None]]:
        """:meth:`checked_frames` for keyframes, each decoded on its own where the decoder can seek
        (:class:`~.seeking.SeekingDecoder`); here, as any frames."""
        return self.checked_frames(targets)

    def distrust_seeking(self) -> bool:
        """Stop seeking after the packets disagreed with the index; False: nothing left to change."""
        return False

    # --- container lifetime -------------------------------------------------------------------------
    def _open(self) -> None:
        self.close()
        self._opened = self.source.open()
        self.demux_error = None
        self._container = self._opened.container
        self._stream = self._container.streams[self.index.stream_index]
        cc = self._stream.codec_context
        cc.thread_type = "AUTO"  # frame + slice threads: the largest single speed-up on multi-core machines
        cc.thread_count = self.threads
        self._packets = self._container.demux(self._stream)
        self._reset()

    def after_fork(self) -> None:
        """In a forked child: leave the parent's container alone (unfreed); the next call re-opens.

        A forked DataLoader worker that used the parent's FFmpeg context would share its file offset and
        decoder state with the parent and every sibling (LeRobot's crashes in forked workers).
        """
        if self._opened is not None:
            keep_forever(self._opened)
            self._opened = self._container = self._stream = self._packets = None
            self._last_good = None
            self._reset()

    def close(self) -> None:
        if self._opened is not None:
            self._quiesce()
            self._opened.close()
        self._opened = self._container = self._stream = self._packets = None
        self._last_good = None
        self._reset()

    def _quiesce(self) -> None:
        """Let frame threads finish what they hold before the codec is freed.

        Freeing a codec joins its frame threads while holding the GIL; a thread still decoding a packet
        that logs a warning needs the GIL for PyAV's Python log callback (on whenever an application calls
        ``av.logging.set_level``), so the join would wait forever. Draining first (PyAV decodes without
        the GIL) leaves the threads idle. A decoder already drained, or never fed, answers at once.
        """
        if self._stream is None:
            return
        try:
            self._stream.codec_context.decode(None)
        except av.error.FFmpegError:
            pass  # EOF (already drained) or damage: either way nothing is left in flight

    def _read_packet(self):
        """The demuxer's next packet, or None at its end. A demuxer that fails (damaged data, an absurd
        size it cannot allocate) ends the stream there too; ``demux_error`` keeps why, for the frames that
        then never come."""
        self.packets_read += 1
        try:
            return next(self._packets, None)
        except DEMUX_ERRORS as exc:
            self._check_io()
            self.demux_error = f"demuxing failed there: {getattr(exc, 'strerror', None) or exc}"
            return None

    def _reset(self) -> None:
        """Forget the decode position (after open or close); subclasses keep their own position state."""

    def _check_io(self) -> None:
        """The demuxer stopped: if a read of a URL failed, that failure is what happened, not an end."""
        if self._opened is not None:
            self._opened.raise_if_failed()

    # --- decoding one packet ------------------------------------------------------------------------
    def _decode(self, packet):
        """Decode one packet (None flushes); decode errors follow on_error."""
        cc = self._stream.codec_context
        try:
            self.packets_decoded += packet is not None
            return cc.decode(packet), None
        except av.error.FFmpegError as exc:
            # EOF after a flush is not damage; anything else is a packet FFmpeg could not decode
            if isinstance(exc, av.error.EOFError):
                return [], None
            where = "" if packet is None or packet.pts is None else f" (packet pts {packet.pts})"
            if self.on_error == "raise":
                idx = self._frame_of_pts(None if packet is None else packet.pts)
                raise CorruptFrameError(
                    self.index.path, f"a packet failed to decode{where}: {exc}", frame_index=idx
                ) from exc
            return [], str(exc) + where

    def _frame_of_pts(self, pts: int | None) -> int | None:
        if pts is None or self.index.mode != "packets":
            return None
        j = int(np.searchsorted(self.index.frame_pts, pts))
        return j if j < self.index.num_frames and self.index.frame_pts[j] == pts else None

    def lost(self, frame: int, why: str):
        """A frame that could not be decoded: what on_error says to hand back instead."""
        if self.on_error == "raise":
            raise CorruptFrameError(
                self.index.path, f"frame {frame} could not be decoded: {why}", frame_index=frame
            )
        if self.on_error == "skip":
            return frame, None, FrameIssue(frame, "skipped", why)
        if self._last_good is None:
            raise CorruptFrameError(
                self.index.path,
                f"frame {frame} could not be decoded and no earlier frame exists to repeat: {why}",
                frame_index=frame,
            )
        return frame, self._last_good, FrameIssue(frame, "repeated_previous", why)
