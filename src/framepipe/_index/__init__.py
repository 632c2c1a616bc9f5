"""Stage 2, the index: every packet of the stream (from an MP4's tables, one demuxing pass, or one
decode), which frame each shows in presentation order, lookups by time, and the on-disk index cache."""
