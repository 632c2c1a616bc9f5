"""Videos over HTTP from nginx: exact frames, what is fetched, the index cache, and every failure typed."""

from __future__ import annotations

import os
import warnings

import av
import numpy as np
import pytest

import framepipe
from framepipe._source import remote
from framepipe.tools.synthetic import read_index

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")


def _shown(batch) -> list[int]:
    return [read_index(f) for f in batch.data]


def test_exact_frames_and_clips_over_http(nginx, mp4_index_mode):
    with framepipe.open(nginx.url("long.mp4"), index_cache=False) as v:
        assert len(v) == 600 and v.metadata.index_mode == mp4_index_mode
        assert _shown(v.get_frames([599, 3, 300, 3, -2])) == [599, 3, 300, 3, 598]
        clips = v.get_clips([range(100, 116), range(450, 482, 2)])
        assert [[read_index(f) for f in c] for c in clips.data] == [
            list(range(100, 116)),
            list(range(450, 482, 2)),
        ]
        assert v.path == nginx.url("long.mp4")


def test_a_container_without_tables_takes_one_pass_and_says_so(nginx):
    with framepipe.open(nginx.url("clip.mkv"), index_cache=False) as v:
        assert v.metadata.index_mode == "packets" and len(v) == 60
        assert _shown(v.get_frames([59, 0, 31])) == [59, 0, 31]


def test_a_clip_from_the_middle_fetches_its_gop_not_the_file(nginx, media, mp4_index_mode):
    if mp4_index_mode != "sample_table":
        pytest.skip(
            f"PyAV {av.__version__} has no index entries: opening an MP4 reads its packets "
            "(PyAV 17 reads its tables)"
        )
    size = os.path.getsize(media["long.mp4"])
    nginx.mark()
    with framepipe.open(nginx.url("long.mp4"), index_cache=False) as v:
        opened = sum(b for *_, b in nginx.log())
        nginx.mark()
        clip = v.get_clips([range(300, 316)])
        fetched = sum(b for *_, b in nginx.log())
        keys = v.metadata.keyframe_indices
    assert [read_index(f) for f in clip.data[0]] == list(range(300, 316))
    block = remote.BLOCK_SIZE
    # opening reads the blocks of the header (moov at the end here) and of the first packets: never the
    # media data in between, however long the video
    assert opened <= 2 * block + 1, (opened, size)
    # the clip needs the GOP from keyframe 300 on (a twentieth of the file), fetched in whole blocks, plus
    # the header blocks once for the reader's own container
    gop = size * (keys[keys > 300][0] - 300) / 600
    assert fetched <= gop + 2 * block + 2 * block, (fetched, gop, size)
    assert fetched < 0.5 * size


def test_reopening_a_cached_remote_video_sends_one_metadata_request(
    nginx, tmp_path, monkeypatch, mp4_index_mode
):
    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path / "cache"))
    url = nginx.url("faststart.mp4")
    with framepipe.open(url) as v:
        first = _shown(v.get_frames([40]))
    nginx.mark()
    with framepipe.open(url) as v:
        assert v.metadata.index_mode == mp4_index_mode
        assert _shown(v.get_frames([40])) == first == [40]
    requests = nginx.log()
    first_get = next(i for i, (m, *_) in enumerate(requests) if m == "GET")
    assert [m for m, *_ in requests[:first_get]] == ["HEAD"]  # one metadata request, then frames


def test_a_server_without_byte_ranges_is_read_whole_with_a_warning(nginx):
    with pytest.warns(UserWarning, match="does not serve byte ranges"):
        v = framepipe.open(nginx.url("long.mp4", folder="norange"), index_cache=False)
    with v:
        assert v.metadata.index_mode == "streamed"
        assert _shown(v.get_frames([10, 500])) == [10, 500]


@pytest.mark.parametrize(
    "url, error, words",
    [
        ("/v/missing.mp4", framepipe.VideoNotFoundError, "no such file"),
        ("/forbidden/long.mp4", framepipe.AccessDeniedError, "access denied"),
    ],
)
def test_missing_and_forbidden(nginx, url, error, words):
    with pytest.raises(error, match=words) as info:
        framepipe.open(f"http://127.0.0.1:{nginx.port}{url}")
    assert f"127.0.0.1:{nginx.port}{url}" in str(info.value)


def test_credentials_never_appear_in_messages(nginx):
    url = f"http://alice:hunter2@127.0.0.1:{nginx.port}/forbidden/long.mp4?token=s3cr3t"
    with pytest.raises(framepipe.AccessDeniedError) as info:
        framepipe.open(url)
    text = str(info.value) + repr(info.value.args) + str(info.value.__cause__) + str(info.value.__context__)
    assert "hunter2" not in text and "s3cr3t" not in text
    assert "alice:***@" in str(info.value) and "token=***" in str(info.value)


def test_unreachable_server(net):
    port = net.free_port()  # nothing listens there
    with pytest.raises(framepipe.SourceUnreachableError, match=f"127.0.0.1:{port}.*cannot reach") as info:
        framepipe.open(f"http://127.0.0.1:{port}/v.mp4")
    # plain words: a plain http:// URL used no TLS, so aiohttp's "ssl:default" has no place in the message
    assert f"cannot connect to 127.0.0.1:{port}: connection refused" in str(info.value)
    assert "ssl" not in str(info.value)


def test_a_silent_server_times_out_instead_of_hanging(silent_server):
    import aiohttp

    timeout = aiohttp.ClientTimeout(sock_connect=1, sock_read=1)
    with pytest.raises(framepipe.RemoteError, match="127.0.0.1"):
        framepipe.open(silent_server, storage_options={"client_kwargs": {"timeout": timeout}})


def test_a_dropped_connection_is_retried(flaky_server):
    url = flaky_server(drops=2)
    with framepipe.open(url, index_cache=False) as v:
        assert _shown(v.get_frames([0, 299, 599])) == [0, 299, 599]


def test_a_connection_that_keeps_dropping_gives_a_typed_error(flaky_server):
    url = flaky_server(drops=10_000)
    with pytest.raises(framepipe.RemoteReadError, match="failed 5 times") as info:
        with framepipe.open(url, index_cache=False) as v:
            v.get_frames([300])
    assert info.value.attempts == 5 and url in str(info.value)


def test_live_stream_urls_point_to_open_stream():
    for url in ("rtsp://127.0.0.1:9/live", "udp://127.0.0.1:9", "http://127.0.0.1:9/a/index.m3u8"):
        with pytest.raises(ValueError, match="live stream; open it with framepipe.open_stream"):
            framepipe.open(url)


def test_readers_pickle_and_reopen_over_http(nginx):
    import pickle

    with framepipe.open(nginx.url("faststart.mp4"), index_cache=False, size=(48, 80)) as v:
        copy = pickle.loads(pickle.dumps(v))
    with copy:
        assert [read_index(f) for f in copy.get_frames([5, 60]).data] == [5, 60]


def test_no_warning_on_an_ordinary_open(nginx):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with framepipe.open(nginx.url("long.mp4"), index_cache=False) as v:
            assert np.asarray(v[0]).shape == (360, 640, 3)


def test_the_command_line_takes_urls(nginx, tmp_path, mp4_index_mode):
    import json
    import subprocess
    import sys

    url = nginx.url("faststart.mp4")
    probe = subprocess.run(
        [sys.executable, "-m", "framepipe", "probe", url, "--json"], capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr
    info = json.loads(probe.stdout)
    assert info["num_frames"] == 90 and info["index_mode"] == mp4_index_mode and info["path"] == url
    out = tmp_path / "f.png"
    extract = subprocess.run(
        [sys.executable, "-m", "framepipe", "extract", url, "--frames", "-1", "--out", out],
        capture_output=True,
        text=True,
    )
    assert extract.returncode == 0, extract.stderr
    from PIL import Image

    assert read_index(np.asarray(Image.open(out))) == 89
    missing = subprocess.run(
        [sys.executable, "-m", "framepipe", "probe", nginx.url("nope.mp4")], capture_output=True, text=True
    )
    assert (
        missing.returncode == 1
        and "nope.mp4: no such file" in missing.stderr
        and "Traceback" not in missing.stderr
    )
