"""A map-style dataset that asks framepipe.lerobot for frames as LeRobot's ``_query_videos`` does, in a
module of its own so that DataLoader workers started with ``spawn`` can import it."""

from __future__ import annotations

import torch

from framepipe.lerobot import decode_video_frames


class TimestampQueries(torch.utils.data.Dataset):
    """Item ``i``: the frames of ``queries[i]`` (timestamps) from ``path``, as uint8 (N, C, H, W)."""

    def __init__(self, path: str, queries: list[list[float]], tolerance_s: float) -> None:
        self.path, self.queries, self.tolerance_s = path, queries, tolerance_s

    def __len__(self) -> int:
        return len(self.queries)

    def __getitem__(self, i: int) -> torch.Tensor:
        return decode_video_frames(self.path, self.queries[i], self.tolerance_s, return_uint8=True)
