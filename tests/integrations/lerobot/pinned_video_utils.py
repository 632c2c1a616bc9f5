# A pinned copy of LeRobot's pyav decode path (huggingface/lerobot, src/lerobot/datasets/video_utils.py at
# commit 7427f31, Apache-2.0), used by the tests only where LeRobot itself does not import: the
# reference that framepipe.lerobot must equal, tensor for tensor and error for error. The one knob is
# RULE, the tolerance comparison ("<=" on LeRobot's main branch since #3423, "<" in 0.6.1 and before).
import av
import torch

RULE = "<="


class FrameTimestampError(ValueError):
    """Helper error to indicate the retrieved timestamps exceed the queried ones"""


def decode_video_frames_pyav(
    video_path, timestamps, tolerance_s, log_loaded_timestamps=False, return_uint8=False, is_depth=False
):
    video_path = str(video_path)
    first_ts = min(timestamps)
    last_ts = max(timestamps)
    loaded_frames = []
    loaded_ts = []
    with av.open(video_path) as container:
        stream = container.streams.video[0]
        container.seek(round(first_ts / stream.time_base) - 1, backward=True, any_frame=False, stream=stream)
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            current_ts = float(frame.pts * stream.time_base)
            if is_depth:
                arr = frame.to_ndarray(format="gray12le")
                loaded_frames.append(torch.from_numpy(arr).unsqueeze(0).contiguous())
            else:
                arr = frame.to_ndarray(format="rgb24")
                loaded_frames.append(torch.from_numpy(arr).permute(2, 0, 1).contiguous())
            loaded_ts.append(current_ts)
            if current_ts >= last_ts:
                break
    if not loaded_frames:
        raise FrameTimestampError(f"No frames could be decoded from {video_path} in [{first_ts}, {last_ts}].")
    query_ts = torch.tensor(timestamps)
    loaded_ts_t = torch.tensor(loaded_ts)
    dist = torch.cdist(query_ts[:, None], loaded_ts_t[:, None], p=1)
    min_, argmin_ = dist.min(1)
    is_within_tol = min_ <= tolerance_s if RULE == "<=" else min_ < tolerance_s
    if not is_within_tol.all():
        raise FrameTimestampError(
            f"One or several query timestamps unexpectedly violate the tolerance "
            f"({min_[~is_within_tol]} > {tolerance_s=}); video: {video_path}"
        )
    closest_frames = torch.stack([loaded_frames[idx] for idx in argmin_])
    if return_uint8 or is_depth:
        return closest_frames
    return closest_frames.type(torch.float32) / 255
