"""Seeking decode: execute a plan's runs on a container whose packet index names every frame.

Frames are identified by their presentation timestamp, never by counting after a seek, so a seek that
lands elsewhere, an open GOP's broken leading frames, or a keyframe flag that lies cannot shift the
result. When an expected frame does not come out (a false keyframe flag makes the decoder drop
everything until a real one), the run restarts from the keyframe before; if even a decode from the very
first packet does not produce it, the frame is lost (damaged data) and ``on_error`` says what follows.
Packets that disagree with the index after a seek (timestamp or size) raise
:class:`~.decode.IndexMismatch`: the reader then stops seeking and reaches keyframes by demuxing from
the first packet (:meth:`SeekingDecoder.distrust_seeking`); the index itself never changes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import av
import numpy as np

from .._index.index import VideoIndex, seek_keys
from .._source.source import Source
from .._util.constants import NOPTS
from ..types import FrameIssue
from .decode import CONCEALED, Decoder, IndexMismatch
from .plan import plan_runs

__all__ = ["SeekingDecoder"]


_MAX_STEPS_BACK = 4
_PICT_I = 1  # AVPictureType AV_PICTURE_TYPE_I
_SKIP_CODECS = frozenset({"h264", "hevc"})


class _BadKey(Exception):
    """A packet flagged keyframe did not decode as one: the container lied (internal)."""

    def __init__(self, packet: int) -> None:
        self.packet = packet


class _Restart(Exception):
    """A frame did not come out of a run; restart it from an earlier keyframe (internal)."""

    def __init__(self, frame: int) -> None:
        self.frame = frame


class SeekingDecoder(Decoder):
    """Decoder for ``index.mode == "packets"``: runs of the plan seek to a keyframe and decode forward."""

    def __init__(self, source: Source, index: VideoIndex, *, threads: int, on_error: str) -> None:
        super().__init__(source, index, threads=threads, on_error=on_error)
        self._give_up: set[int] = set()  # frames that did not come out even from the first packet
        self._call_frames: set[int] = set()  # every frame the current call asks for
        self._call_last = -1
        # FFmpeg's own H.264/HEVC decoders read skip_frame per packet; others (libdav1d) do not
        self._may_skip = index.codec in _SKIP_CODECS and on_error != "previous"
        self._pkt_key = index.pkt_key.copy()  # keyframe flags, minus those found to lie
        self._drain_runs = False  # keyframe_pictures: drain after each run's last packet
        self._frame_key = index.frame_key
        self._set_keys()
        self._pkt_frame = np.full(len(index.pkt_pts), -1, dtype=np.int64)  # frame each packet shows
        self._pkt_frame[index.frame_pkt] = np.arange(index.num_frames)
        self.seek_trusted = True  # False once packets disagreed with the index after a seek
        # where the demuxer compares a seek target with presentation times (FFmpeg's mov does), a keyframe's
        # decode time lands one GOP early: learnt from the first such seek, kept as a hint
        self._seek_by_pts = False
        self._pts_order = np.argsort(index.pkt_pts, kind="stable")
        self._pts_sorted = index.pkt_pts[self._pts_order]
        # every packet's pts is its own (no NOPTS, no repeats): a packet's pts then names its position
        pts = self._pts_sorted
        self._pts_unique = bool((np.diff(pts) > 0).all()) and not (len(pts) and pts[0] == NOPTS)
        self._reset()

    def _reset(self) -> None:
        self._pos = (
            0 if self._container is not None else -1
        )  # decode-order position of the next packet (-1: unknown)
        self._pending: av.Packet | None = None  # the keyframe packet a seek has read but not decoded yet
        self._ready: deque = deque()  # frames the decoder put out that no run has looked at yet
        self._chain = False  # the decoder holds a valid reference chain (fed forward from a keyframe)
        self._last_out = NOPTS  # pts of the last frame the decoder put out in this chain
        self._skipping = False  # the codec context is set to skip non-reference pictures

    # --- helpers ------------------------------------------------------------------------------------
    def _set_keys(self) -> None:
        keys = np.flatnonzero(self._pkt_key)
        if len(keys) == 0 or keys[0] != 0:
            keys = np.concatenate([[0], keys]).astype(np.int64)
        self._keys = keys

    def _distrust_key(self, packet: int) -> None:
        """Forget a false keyframe flag: frames that started there start at the keyframe before."""
        ix = self.index
        self._pkt_key[packet] = False
        self._set_keys()
        self._frame_key = seek_keys(ix.pkt_pts, self._pkt_key, ix.frame_pts, ix.frame_pkt)

    def _key_before(self, key: int) -> int:
        """The trusted keyframe packet before ``key`` (0 stays 0)."""
        return int(self._keys[max(0, int(np.searchsorted(self._keys, key)) - 1)])

    def _packet_position(self, pts: int | None) -> int:
        if pts is None:
            return -1
        j = np.searchsorted(self._pts_sorted, pts)
        if j < len(self._pts_sorted) and self._pts_sorted[j] == pts:
            return int(self._pts_order[j])
        return -1

    # --- entry point --------------------------------------------------------------------------------
    def keyframe_pictures(self, targets: np.ndarray) -> Iterator[tuple[int, object, FrameIssue | None]]:
        """The keyframes ``targets`` (ascending, unique), each decoded alone: one run per keyframe, whose
        decoder is drained after the keyframe's packet instead of fed the packets after it, so each costs
        one decoded picture. A keyframe flag that lies is caught as in any run (the picture must decode as a
        keyframe), and that frame is then decoded from the real keyframe before it: still its own picture."""
        self._drain_runs = True
        try:
            for target in targets:
                yield from self.checked_frames(np.array([target], dtype=np.int64))
        finally:
            self._drain_runs = False

    def frames(self, targets: np.ndarray) -> Iterator[tuple[int, object, FrameIssue | None]]:
        """Yield each of the ascending unique ``targets`` once, in ascending order."""
        self._call_frames = set(targets.tolist())
        self._call_last = int(targets[-1]) if len(targets) else -1
        override: dict[int, int] = {}
        attempts: dict[int, int] = {}
        self._give_up = set()
        done = 0
        # every retry below removes a keyframe flag or moves a frame's start back, so the loop ends; the
        # bound turns a retry that makes no progress (damage no start point cures) into lost frames
        retries, last_done = 0, 0
        while done < len(targets):
            retries = 0 if done > last_done else retries + 1
            last_done = done
            if retries > len(self._keys) + 2 * _MAX_STEPS_BACK + 8:
                for f in targets[done:]:
                    yield self.lost(int(f), "no keyframe before it decodes to it (damaged data)")
                return
            keys = self._frame_key.copy() if override else self._frame_key
            for f, k in override.items():
                keys[f] = k
            try:
                for run in plan_runs(keys, self._keys, self.index.frame_pkt, targets[done:]):
                    for item in self._run(run.key_packet, run.frames):
                        done += 1
                        yield item
            except _BadKey as bad:
                self._distrust_key(bad.packet)
                for f, k in list(override.items()):  # a start moved back onto this packet moves further
                    if k == bad.packet:
                        override[f] = self._key_before(k)
                self._chain = False
            except _Restart as miss:
                if self._skipping or self._may_skip:  # never let skipping explain a missing frame: stop it
                    self._may_skip = False
                    self._chain = False
                    continue
                # step back one keyframe at a time (false keyframe flags are usually a step or two off),
                # then once from the first packet; a frame missing even then is lost (damaged data)
                f = miss.frame
                used = override.get(f, int(self.index.frame_key[f]))
                attempts[f] = attempts.get(f, 0) + 1
                if used == 0:
                    self._give_up.add(f)
                elif attempts[f] >= _MAX_STEPS_BACK:
                    override[f] = 0
                else:
                    override[f] = self._key_before(used)
                self._chain = False

    def _seek(self, key: int, first_pts: int) -> bool:
        """Make the next packet fed continue a valid chain that reaches ``first_pts``, seeking only if needed.

        No seek when the decoder already runs forward from a keyframe at or before ``key`` and has not yet
        shown ``first_pts`` (so a run never seeks backwards over frames it is about to decode anyway).
        Returns whether the decoder starts afresh at ``key``.
        """
        if self._container is None:
            self._open()
        if self._chain and 0 <= key <= self._pos and self._last_out < first_pts:
            return False
        self._last_good = None
        self._last_out = NOPTS
        self._ready.clear()
        self._chain = True
        if self._pos == key:  # already there (a fresh open at packet 0): drop whatever the decoder holds
            self._stream.codec_context.flush_buffers()
            return True
        idx = self.index
        pts = int(idx.pkt_pts[key])
        known = [int(t) for t in (idx.pkt_pts[key], idx.pkt_dts[key]) if t != NOPTS]
        safe = min(known) if known else None
        attempts = []
        if safe is not None and self.seek_trusted:
            # the decode time (or the lower of the two) never lands past the keyframe; its pts may, which
            # the check below catches (then the decode time is tried)
            attempts = [pts, safe] if self._seek_by_pts and pts not in (NOPTS, safe) else [safe]
        for ts in attempts + [None]:  # None: reopen and demux from the first packet
            if ts is None:
                self._open()
            else:
                self.seeks += 1
                try:
                    self._container.seek(int(ts), stream=self._stream, backward=True)
                except av.error.FFmpegError:
                    self._check_io()
                    continue
                self._stream.codec_context.flush_buffers()
                self._packets = self._container.demux(self._stream)
                self._pos = -1
            # skip (demux only, no decoding) until the keyframe; past it means the seek overshot
            early = False
            while (packet := self._read_packet()) is not None:
                if packet.size == 0:
                    break
                if self._pos >= 0:
                    pos = self._pos
                elif packet.pts == pts and self._pts_unique:  # the seek landed on the keyframe (usually)
                    pos = key
                else:
                    pos = self._packet_position(packet.pts)
                if pos < 0:
                    if ts is not None:
                        break  # the seek landed on a packet the index does not know: demux from the start
                    raise IndexMismatch(f"packet with pts {packet.pts} is not in the index")
                if pos == key:
                    self._check_size(packet, key)
                    self._pending = packet
                    self._pos = key
                    if early and ts is not None and ts != pts and pts != NOPTS:
                        self._seek_by_pts = True
                    return True
                if pos > key:
                    if ts == pts and ts != safe:
                        self._seek_by_pts = False
                    break
                early = True
                self._pos = pos + 1
            self._check_io()
        raise IndexMismatch(f"could not position the demuxer at packet {key}")

    def _check_size(self, packet, pos: int) -> None:
        sizes = self.index.pkt_size
        if len(sizes) and packet.size != sizes[pos]:
            raise IndexMismatch(
                f"packet {pos} (pts {packet.pts}) has {packet.size} bytes, the index says "
                f"{int(sizes[pos])}: the demuxer labels other data with its timestamp"
            )

    def distrust_seeking(self) -> bool:
        """After packets disagreed with the index past a seek: from now on reach every keyframe by demuxing
        from the first packet (slower, never a different frame count). False when already so."""
        if not self.seek_trusted:
            return False
        self.seek_trusted = False
        self._chain = False
        return True

    def _next_packet(self):
        """The next packet in decode order, checked against the index; None at the end of the stream."""
        packet = self._read_packet()
        if packet is None or packet.size == 0:
            self._check_io()
            return None
        if self._pos >= len(self.index.pkt_pts) and self.index.truncated:
            return None  # the cut-off remains of a truncated file's last packet: its end, never decoded
        expected = self.index.pkt_pts[self._pos] if 0 <= self._pos < len(self.index.pkt_pts) else None
        if expected is None or packet.pts != (None if expected == NOPTS else int(expected)):
            raise IndexMismatch(f"packet {self._pos} has pts {packet.pts}, the index says {expected}")
        self._check_size(packet, self._pos)
        return packet

    def _run(self, key: int, frames: np.ndarray):
        idx = self.index
        wanted = idx.frame_pts[frames]
        seeked = self._seek(key, int(wanted[0]))
        # after a seek the keyframe's own picture must decode as a keyframe; packet 0 is the definition
        verify = int(idx.pkt_pts[key]) if seeked and key > 0 else None
        n, i = len(frames), 0
        errors: list[str] = []
        packet = self._pending
        self._pending = None
        drained = False
        last_fed = max(idx.frame_pkt[frames].tolist())  # every frame of the run is fed once this packet is
        while i < n:
            if not self._ready:  # nothing decoded is waiting: feed the next packet
                if drained:
                    while i < n:  # the stream is over and these never came out
                        yield self._missing(int(frames[i]), errors)
                        i += 1
                    return
                if packet is None and self._pos > last_fed and (self._drain_runs or self._next_is_key()):
                    # the frames left are held back by the decoder's reordering delay: drain it rather
                    # than decode the next GOP's keyframe for nothing; a call that goes on starts there
                    decoded, err = self._decode(None)
                    self._stream.codec_context.flush_buffers()
                    self._chain = False
                    drained = True
                elif packet is None and (packet := self._next_packet()) is None:  # end of stream: drain
                    decoded, err = self._decode(None)
                    self._reset_after_drain()
                    drained = True
                else:
                    self._set_skipping(self._skippable(self._pos))
                    decoded, err = self._decode(packet)
                    self._pos += 1
                    packet = None
                if err:
                    errors.append(err)
                self.pictures_decoded += len(decoded)
                self._ready.extend(decoded)
                continue
            # frames wait in self._ready between calls, so a call that ends early loses none of them
            frame = self._ready.popleft()
            pts = frame.pts
            if pts is None:
                raise IndexMismatch("a decoded frame has no timestamp")
            self._last_out = pts
            if verify is not None and pts >= verify:
                if pts > verify or not (frame.key_frame or int(frame.pict_type) == _PICT_I):
                    raise _BadKey(key)
                verify = None
            while i < n and wanted[i] < pts:  # the decoder went past a frame without showing it
                yield self._missing(int(frames[i]), errors)
                i += 1
            if frame.is_corrupt:  # FFmpeg concealed damage: this picture is not the frame's content
                if i < n and wanted[i] == pts:
                    yield self.lost(int(frames[i]), CONCEALED)
                    i += 1
                continue
            self._last_good = frame
            if i < n and wanted[i] == pts:
                yield int(frames[i]), frame, None
                i += 1

    def _next_is_key(self) -> bool:
        """Whether the next packet in decode order is a keyframe a run may start at (not yet read)."""
        pos = self._pos
        return 0 < pos < len(self._pkt_key) and bool(self._pkt_key[pos]) and self.seek_trusted

    def _skippable(self, pos: int) -> bool:
        """Whether packet ``pos`` may be decoded with non-reference pictures skipped.

        A non-reference picture (most B-frames) is used by no other frame, so not decoding one that the
        call does not ask for changes nothing else: exact, and a third less decoding on B-frame streams.
        Only below the call's last frame, so look-ahead pictures a next call may want are kept; never
        under on_error="previous", which repeats whatever picture came just before. Should a frame go
        missing while skipping is allowed, skipping is switched off for good before anything is retried.
        """
        if not self._may_skip:
            return False
        f = int(self._pkt_frame[pos])
        return 0 <= f < self._call_last and f not in self._call_frames

    def _set_skipping(self, skip: bool) -> None:
        if skip != self._skipping:
            # read per packet, also by frame threads (FFmpeg copies it when the packet is submitted)
            self._stream.codec_context.skip_frame = "NONREF" if skip else "DEFAULT"
            self._skipping = skip

    def _missing(self, frame: int, errors: list[str]):
        """A frame the decoder skipped: retry from further back, unless damage explains it."""
        if errors:
            return self.lost(frame, errors[-1])
        if self.demux_error:
            return self.lost(frame, self.demux_error)
        if frame in self._give_up:
            return self.lost(
                frame,
                "the decoder produced no picture for it, even decoding from the first packet (damaged data)",
            )
        raise _Restart(frame)

    def _reset_after_drain(self) -> None:
        # a drained decoder accepts no more packets until flushed, and the demuxer is at the end: the
        # next run must seek (or reopen) whatever it asks for
        self._stream.codec_context.flush_buffers()
        self._packets = iter(())
        self._pos = -1
        self._chain = False
