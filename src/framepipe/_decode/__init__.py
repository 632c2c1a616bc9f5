"""Stage 3, decoding: the plan of a request (which keyframe each run of frames starts from) and the
seeking and sequential decoders that carry it out, each frame decoded once."""
