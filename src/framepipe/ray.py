"""Ray Data reader (extra ``[ray]``): exact clips and frames from many videos, on a laptop or a cluster::

    import ray
    from framepipe.ray import read_clips

    ray.init()                                   # a laptop; ray.init(address="auto") on a cluster
    ds = read_clips("s3://bucket/videos/*.mp4", length=16, step=2, size=112, sampler="random",
    clips_per_video=8)
    for batch in ds.iter_torch_batches(batch_size=32):   # batch["clip"]: (32, 16, 112, 112, 3) uint8
        ...

How the work is split (Ray schedules, streams and retries it; framepipe only plans and decodes):

- **Planning**, when ``read_clips`` is called: one Ray task per video indexes it (filling that node's
  on-disk index cache; an MP4 is indexed from its own tables, so a remote one is not downloaded) and
  draws its clips, sorted by time. The index and the clips stay in Ray's object store; the driver gets
  only each video's clip count and where its GOPs start, so its memory does not grow with the videos.
- **Reading**: a read task is a list of shards, a shard a run of one video's clips that starts at a GOP
  boundary (keyframe-aligned). A long video spreads over many tasks; short videos pack into one. Tasks
  get equal shares of the work (frames decoded, from each GOP's keyframe, and frames written): one per
  CPU for a small job, one per second or so of decoding up to four per CPU, then as many as give each
  about two seconds, at most 200 (or ``override_num_blocks``). Ray is told that count, so it keeps the
  tasks' blocks whole instead of splitting them towards its 200-block default. Each task decodes its
  clips with the video's index from the object store (no re-indexing, ``threads=1`` per decoder) and
  yields blocks of at most Ray's target block size, one decode plan per block: never a whole video's
  frames at once.

A read task is deterministic (same shards, same blocks), so a task Ray retries after a worker dies gives
exactly the rows it would have: every clip comes out exactly once per epoch. Random samplers draw from
``seed`` and ``epoch``: pass ``epoch=e`` for epoch ``e``'s clips.
"""

from __future__ import annotations

from ._util.extras import require

require("ray.data", extra="ray", what="framepipe.ray")

from ._adapters.ray_read import VideoDatasource, read_clips, read_frames  # noqa: E402

__all__ = ["read_clips", "read_frames", "VideoDatasource"]
