"""Sequential decode: for streams whose packets cannot name frames (no or duplicate timestamps).

Frame ``i`` is simply the ``i``-th picture a decode from the first packet puts out, so every call decodes
forward, and a call that needs an earlier frame than the decoder has reached starts again from the top.
Slow, and never wrong by a frame.
"""

from __future__ import annotations

import numpy as np

from .decode import CONCEALED, Decoder, IndexMismatch

__all__ = ["SequentialDecoder"]


class SequentialDecoder(Decoder):
    """Decoder for ``index.mode == "decode"``: counts decoded pictures; never skips any."""

    def _reset(self) -> None:
        # pictures the current pass has put out; -1: no pass under way (the next call opens afresh)
        self._seq_count = 0 if self._container is not None else -1

    def frames(self, targets: np.ndarray):
        """Count frames from the first packet; reopen when a call needs an earlier frame than the decoder is
        at."""
        if len(targets) == 0:
            return
        if self._container is None or self._seq_count < 0 or self._seq_count > int(targets[0]):
            self._open()  # (decode mode counts every picture, so it never skips any)
        i, n = 0, len(targets)
        errors: list[str] = []
        while i < n:
            packet = self._read_packet()
            if packet is not None and packet.size == 0:
                packet = None
            if packet is None:
                self._check_io()
            decoded, err = self._decode(packet)
            if err:
                errors.append(err)
            for frame in decoded:
                while i < n and targets[i] < self._seq_count:
                    yield self.lost(int(targets[i]), errors[-1] if errors else self.demux_error or "missing")
                    i += 1
                if i < n and targets[i] == self._seq_count:
                    yield (
                        self.lost(int(targets[i]), CONCEALED)
                        if frame.is_corrupt
                        else (int(targets[i]), frame, None)
                    )
                    i += 1
                if not frame.is_corrupt:
                    self._last_good = frame
                self._seq_count += 1
            if packet is None:
                count, self._seq_count = self._seq_count, -1  # the next call reopens
                self._stream.codec_context.flush_buffers()
                self._packets = iter(())
                if i < n:
                    raise IndexMismatch(f"the stream ended after {count} frames, before frame {targets[i]}")
                return
