"""Videos from S3 (moto's server, through s3fs), from bytes and from file objects, and over URLs in a
DataLoader with worker processes."""

from __future__ import annotations

import io
import os
import pickle
import threading

import pytest

import framepipe
from framepipe.tools.synthetic import read_index

pytest.importorskip("fsspec")


def _shown(batch) -> list[int]:
    return [read_index(f) for f in batch.data]


# --- S3 ---------------------------------------------------------------------------------------------------
@pytest.fixture
def s3_options(s3):
    pytest.importorskip("s3fs")
    return s3


def test_exact_frames_from_s3(s3_options, mp4_index_mode):
    with framepipe.open("s3://videos/long.mp4", storage_options=s3_options, index_cache=False) as v:
        assert len(v) == 600 and v.metadata.index_mode == mp4_index_mode
        assert _shown(v.get_frames([599, 0, 301])) == [599, 0, 301]
    with framepipe.open("s3://videos/clip.mkv", storage_options=s3_options, index_cache=False) as v:
        assert v.metadata.index_mode == "packets" and _shown(v.get_frames([59, 7])) == [59, 7]


def test_s3_index_cache_is_keyed_by_etag(s3_options, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path))
    with framepipe.open("s3://videos/faststart.mp4", storage_options=s3_options) as v:
        assert _shown(v.get_frames([33])) == [33]
    assert len(os.listdir(tmp_path)) == 1
    with framepipe.open("s3://videos/faststart.mp4", storage_options=s3_options) as v:
        assert _shown(v.get_frames([34])) == [34]
    assert len(os.listdir(tmp_path)) == 1  # the same entry, found again


def test_s3_missing_key_and_bucket(s3_options):
    with pytest.raises(framepipe.VideoNotFoundError, match="s3://videos/nope.mp4"):
        framepipe.open("s3://videos/nope.mp4", storage_options=s3_options)
    with pytest.raises(framepipe.VideoNotFoundError, match="s3://no-such-bucket/a.mp4"):
        framepipe.open("s3://no-such-bucket/a.mp4", storage_options=s3_options)


def test_storage_option_secrets_never_appear_in_messages(net):
    pytest.importorskip("s3fs")
    options = {
        "endpoint_url": f"http://127.0.0.1:{net.free_port()}",
        "key": "AKIDEXAMPLE",
        "secret": "wJalrXUtnFEMI-very-secret",
        "config_kwargs": {"connect_timeout": 1, "read_timeout": 1, "retries": {"max_attempts": 1}},
    }
    with pytest.raises(framepipe.VideoError) as info:
        framepipe.open("s3://videos/long.mp4", storage_options=options)
    assert "very-secret" not in str(info.value) and info.value.__cause__ is None
    assert "s3://videos/long.mp4" in str(info.value)


# --- bytes and file objects -------------------------------------------------------------------------------
def test_bytes_memoryview_and_seekable_file(media):
    data = open(media["faststart.mp4"], "rb").read()
    for source in (data, memoryview(data), bytearray(data), io.BytesIO(data)):
        with framepipe.open(source) as v:
            assert len(v) == 90 and _shown(v.get_frames([89, 2, 45])) == [89, 2, 45]
    with framepipe.open(data) as v:  # bytes pickle with the reader (a worker gets its own copy)
        copy = pickle.loads(pickle.dumps(v))
    with copy:
        assert _shown(copy.get_frames([7])) == [7]
    with framepipe.open(io.BytesIO(data)) as v, pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(v)


def test_a_file_object_opened_mid_way_reads_from_there(media, tmp_path):
    path = tmp_path / "prefixed.bin"
    path.write_bytes(b"HEADER-OF-SOMETHING-ELSE" + open(media["clip.mkv"], "rb").read())
    with open(path, "rb") as fh:
        fh.read(24)
        with framepipe.open(fh) as v:
            assert _shown(v.get_frames([0, 59])) == [0, 59]


def test_a_pipe_that_cannot_seek(media):
    data = open(media["long.mp4"], "rb").read()
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as w:
            w.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read_end, "rb") as pipe, framepipe.open(pipe) as v:
        assert v.metadata.index_mode == "streamed"  # copied to a temporary file first
        assert _shown(v.get_frames([599, 1, 300])) == [599, 1, 300]
    writer.join()


def test_empty_and_wrong_sources():
    with pytest.raises(framepipe.InvalidVideoError, match="empty"):
        framepipe.open(b"")
    with pytest.raises(framepipe.InvalidVideoError, match="not a readable video"):
        framepipe.open(b"certainly not a video" * 100)
    with pytest.raises(TypeError, match="path, a URL, bytes, a binary file object or a Hugging Face"):
        framepipe.open(12345)
    with pytest.raises(ValueError, match="storage_options are for URLs"):
        framepipe.open(__file__, storage_options={"anon": True})


# --- many workers -----------------------------------------------------------------------------------------
def test_dataloader_workers_read_urls(nginx):
    torch = pytest.importorskip("torch")
    from framepipe.torch import ClipDataset

    urls = [nginx.url("faststart.mp4"), nginx.url("clip.mkv")]
    ds = ClipDataset(
        urls, labels=["a", "b"], length=4, stride=30, size=(48, 80), dtype="uint8", layout="THWC"
    )
    seen = set()
    for clips, labels in torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2):
        for clip, label in zip(clips, labels):
            first = read_index(clip[0].numpy(), box=framepipe.tools.synthetic.pattern_box(96, 160))
            assert [
                read_index(f.numpy(), box=framepipe.tools.synthetic.pattern_box(96, 160)) for f in clip
            ] == list(range(first, first + 4))
            seen.add((int(label), first))
    assert seen == {(0, 0), (0, 30), (0, 60), (1, 0), (1, 30)}


def test_local_reading_never_imports_fsspec(media):
    import subprocess
    import sys

    code = (
        "import sys, framepipe; v = framepipe.open(sys.argv[1]); v.get_frames([1]); "
        "assert 'fsspec' not in sys.modules and 'aiohttp' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code, media["clip.mkv"]]).returncode == 0


def test_file_urls_work_for_files_and_streams(media):
    url = "file://" + media["faststart.mp4"]
    with framepipe.open(url) as v:
        assert _shown(v.get_frames([44])) == [44]
    with framepipe.open_stream(url, mode="all", realtime=False) as stream:
        assert read_index(stream.read(timeout=5).data) == 0
