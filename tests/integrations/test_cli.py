"""The ``framepipe`` command, run as a subprocess on generated videos whose frames show their index."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from framepipe.tools.synthetic import make_video, pattern_box, read_index


def run(*args, cwd=None, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "framepipe", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr
    assert lines and lines[-1].startswith("Error: "), proc.stderr
    for needle in needles:
        assert needle in lines[-1], (needle, proc.stderr)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("cli") / "v.mp4", num_frames=90, fps=30, gop=15, bframes=2)


def test_probe_table_and_json(video, tmp_path):
    vfr = make_video(
        tmp_path / "vfr.mkv",
        num_frames=20,
        timestamps_ms=[
            0,
            40,
            50,
            120,
            130,
            200,
            230,
            300,
            310,
            400,
            420,
            500,
            520,
            600,
            610,
            700,
            740,
            800,
            810,
            900,
        ],
    )
    proc = run("probe", video, vfr)
    assert proc.returncode == 0, proc.stderr
    assert "90 (exact" in proc.stdout and "every 15 frames" in proc.stdout and "h264" in proc.stdout
    data = json.loads(run("probe", video, vfr, "--json").stdout)
    assert (
        data[0]["num_frames"] == 90
        and data[0]["average_fps"] == 30
        and data[0]["keyframe_spacing_frames"]["max"] == 15
    )
    assert data[0]["variable_frame_rate"] is False and data[1]["variable_frame_rate"] is True
    assert data[0]["streams"][0]["type"] == "video" and data[0]["width"] == 160


def test_extract_frames_to_images(video, tmp_path):
    out = tmp_path / "frames"
    proc = run("extract", video, "--frames", "5,20,45", "--out", out, "--format", "png")
    assert proc.returncode == 0, proc.stderr
    files = sorted(os.listdir(out))
    assert files == [
        "frame_000005_000000.167s.png",
        "frame_000020_000000.667s.png",
        "frame_000045_000001.500s.png",
    ]
    assert [read_index(np.asarray(Image.open(out / f))) for f in files] == [5, 20, 45]
    # JPEG, resized: the pattern survives
    proc = run(
        "extract", video, "--frames", "7", "--out", tmp_path / "jpg", "--size", "64x64", "--quality", "90"
    )
    img = np.asarray(Image.open(tmp_path / "jpg" / "frame_000007_000000.233s.jpg"))
    assert img.shape == (64, 64, 3) and read_index(img, box=pattern_box(96, 160)) == 7


def test_extract_times_to_npz(video, tmp_path):
    out = tmp_path / "x.npz"
    proc = run("extract", video, "--times", "1,0.5,2.01", "--out", out, "--color", "gray", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    with np.load(out) as npz:
        assert npz["frames"].shape == (3, 96, 160, 1)
        assert npz["indices"].tolist() == [30, 15, 60] == summary["indices"]
        np.testing.assert_allclose(npz["pts_seconds"], [1.0, 0.5, 2.0], atol=1e-6)
        assert [read_index(f[..., 0]) for f in npz["frames"]] == [30, 15, 60]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--every", "30"], [0, 30, 60]),
        (["--every", "1s", "--start", "0.5"], [15, 45, 75]),
        (["--fps", "2", "--start", "1", "--end", "2.4"], [30, 45, 60]),
    ],
)
def test_extract_on_a_grid(video, tmp_path, args, expected):
    proc = run("extract", video, *args, "--out", tmp_path / "g.npz", "--json")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "g.npz") as npz:
        assert npz["indices"].tolist() == expected
        assert [read_index(f) for f in npz["frames"]] == expected


def test_extract_never_overwrites_and_stays_in_its_folder(video, tmp_path):
    out = tmp_path / "o"
    assert run("extract", video, "--frames", "1", "--out", out).returncode == 0
    before = os.path.getmtime(out / "frame_000001_000000.033s.jpg")
    proc = run("extract", video, "--frames", "1", "--out", out)
    assert proc.returncode == 1
    one_line_error(proc, "frame_000001_000000.033s.jpg", "already exists", "--overwrite")
    assert os.path.getmtime(out / "frame_000001_000000.033s.jpg") == before
    assert run("extract", video, "--frames", "1", "--out", out, "--overwrite").returncode == 0
    # a hostile input name changes nothing about where files go
    weird = tmp_path / "in" / "..;rm -rf ~;..mp4"
    weird.parent.mkdir()
    os.link(video, weird)
    listing = set(os.listdir(tmp_path))
    assert run("extract", weird, "--frames", "2", "--out", tmp_path / "safe").returncode == 0
    assert set(os.listdir(tmp_path)) == listing | {"safe"}
    assert os.listdir(tmp_path / "safe") == ["frame_000002_000000.067s.jpg"]


def test_bad_input_exit_codes_and_one_line_messages(video, tmp_path):
    missing = run("extract", tmp_path / "missing.mp4", "--frames", "1", "--out", tmp_path / "a")
    assert missing.returncode == 1
    one_line_error(missing, "missing.mp4", "no such file")
    for args, needle in [
        (["--size", "0x5", "--frames", "1"], "--size"),
        (["--every", "-1"], "--every"),
        (["--every", "0s"], "--every"),
        (["--frames", "1", "--times", "2"], "only one of"),
    ]:
        proc = run("extract", video, *args, "--out", tmp_path / "b")
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr and "Traceback" not in proc.stderr
    past = run("extract", video, "--frames", "5,90", "--out", tmp_path / "c")
    assert past.returncode == 1
    one_line_error(past, "v.mp4", "frame 90 is past the end", "90 frames")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    unwritable = run("extract", video, "--frames", "1", "--out", blocker / "sub")
    assert unwritable.returncode == 1
    one_line_error(unwritable, str(blocker / "sub"), "cannot create the output folder")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(5000))
    bad = run("probe", garbage)
    assert bad.returncode == 1
    one_line_error(bad, "garbage.mp4")
    debug = run("probe", garbage, "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_clips_export_is_resumable_parallel_and_skips_bad_videos(tmp_path):
    src = tmp_path / "videos"
    (src / "b").mkdir(parents=True)
    make_video(src / "a.mp4", num_frames=40)
    make_video(src / "b" / "c.mkv", num_frames=30)
    (src / "broken.mp4").write_bytes(os.urandom(4000))
    out = tmp_path / "clips"
    args = ["clips", src, "--length", 8, "--stride", 8, "--sampling-rate", 2, "--size", "80x48", "--out", out]
    proc = run(*args, "--jobs", "2", "--shard-size", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "skipped broken.mp4" in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["exported"] == 2 and summary["failed"][0]["video"] == "broken.mp4"
    records = {r["video"]: r for r in map(json.loads, open(out / "manifest.jsonl"))}
    assert set(records) == {"a.mp4", os.path.join("b", "c.mkv")}
    assert (
        records["a.mp4"]["label"] is None and records[os.path.join("b", "c.mkv")]["label"] == "b"
    )  # class folder
    # a.mp4: 40 frames, clips of 8 frames 2 apart span 15 frames, one every 8 -> starts 0, 8, 16, 24
    assert records["a.mp4"]["clips"] == 4 and len(records["a.mp4"]["shards"]) == 2
    clips = [np.load(out / s["file"]) for s in records["a.mp4"]["shards"]]
    indices = np.concatenate([c["indices"] for c in clips])
    assert indices.tolist() == [list(range(s, s + 16, 2)) for s in (0, 8, 16, 24)]
    data = np.concatenate([c["clips"] for c in clips])
    assert data.shape == (4, 8, 48, 80, 3)
    box = pattern_box(96, 160)
    assert [[read_index(f, box=box) for f in clip] for clip in data] == indices.tolist()
    # resumable: the second run skips both and rewrites nothing
    stamp = os.path.getmtime(out / records["a.mp4"]["shards"][0]["file"])
    again = json.loads(run(*args, "--shard-size", "2", "--json").stdout)
    assert again["already_done"] == 2 and again["exported"] == 0
    assert os.path.getmtime(out / records["a.mp4"]["shards"][0]["file"]) == stamp
    other = run("clips", src, "--length", "4", "--out", out)
    assert other.returncode == 1
    one_line_error(other, "other options")
    # random clips, seeded: the same seed gives the same clips
    seeded = ("clips", src / "a.mp4", "--length", "4", "--random", "3", "--seed", "7", "--json")
    r1, r2 = run(*seeded, "--out", tmp_path / "r1"), run(*seeded, "--out", tmp_path / "r2")
    assert r1.returncode == 0 and r2.returncode == 0
    f1, f2 = (
        json.loads(open(d / "manifest.jsonl").readline())["shards"][0]["file"]
        for d in (tmp_path / "r1", tmp_path / "r2")
    )
    assert (
        np.load(tmp_path / "r1" / f1)["indices"].tolist() == np.load(tmp_path / "r2" / f2)["indices"].tolist()
    )
    every_bad = run("clips", src / "broken.mp4", "--length", "4", "--out", tmp_path / "r3")
    assert every_bad.returncode == 1
    one_line_error(every_bad, "every video failed", "broken.mp4")


def test_preview_sheet_is_a_png_of_the_expected_size(video, tmp_path):
    proc = run(
        "preview",
        video,
        "--every",
        "10",
        "--columns",
        "4",
        "--thumb-width",
        "80",
        "--out",
        tmp_path / "s.png",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["indices"] == list(range(0, 90, 10))
    with Image.open(tmp_path / "s.png") as img:
        assert img.format == "PNG"
        # 9 thumbnails of 80x48 in 4 columns: 3 rows, each with a 16-pixel label strip, 4-pixel gutters
        assert img.size == (4 * (80 + 4) + 4, 3 * (48 + 16 + 4) + 4) == (summary["width"], summary["height"])
        sheet = np.asarray(img.convert("RGB"))
    # the thumbnails on the sheet are the frames picked: read the pattern of the 6th (row 1, column 1)
    left, top = 4 + 84, 4 + 68 + 16
    thumb = sheet[top : top + 48, left : left + 80]
    assert read_index(thumb, box=pattern_box(96, 160)) == 50
    assert (sheet[top : top + 48, left - 4 : left] == 0).all()  # a black gutter between neighbours
    clips = run("preview", video, "--length", "4", "--stride", "30", "--out", tmp_path / "c.png", "--json")
    summary = json.loads(clips.stdout)
    assert summary["indices"] == [0, 1, 2, 3, 30, 31, 32, 33, 60, 61, 62, 63]
    assert Image.open(tmp_path / "c.png").size == (4 * (160 + 4) + 4, 3 * (96 + 16 + 4) + 4)
    # random clips come out one per row in time order, not in the order they were drawn
    drawn = run(
        "preview",
        video,
        "--length",
        "3",
        "--random",
        "5",
        "--seed",
        "3",
        "--out",
        tmp_path / "r.png",
        "--json",
    )
    starts = json.loads(drawn.stdout)["indices"][::3]
    assert starts == sorted(starts) and len(starts) == 5


@pytest.fixture
def tcp_sender(net):
    port = net.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "framepipe.tools.sender", "tcp", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    net.wait_listening(port, proc)
    yield f"tcp://127.0.0.1:{port}"
    proc.kill()
    proc.wait()


def test_capture_frames_and_fps(tcp_sender, tmp_path):
    proc = run("capture", tcp_sender, "--out", tmp_path / "a", "--frames", "10", "--format", "png", "--json")
    assert proc.returncode == 0, proc.stderr
    files = sorted(os.listdir(tmp_path / "a"))
    assert len(files) == 10 and files[3].startswith("frame_000003_")
    assert [read_index(np.asarray(Image.open(tmp_path / "a" / f))) for f in files] == list(range(10))
    proc = run(
        "capture", tcp_sender, "--out", tmp_path / "b", "--fps", "5", "--duration", "1.5", "--format", "png"
    )
    assert proc.returncode == 0, proc.stderr
    shown = sorted(read_index(np.asarray(Image.open(tmp_path / "b" / f))) for f in os.listdir(tmp_path / "b"))
    # 1.5 s of wall clock from open, plus the frames the probe buffered: 7 to 10 frames, 0.2 s of stream apart
    assert 7 <= len(shown) <= 10 and shown == list(range(0, 6 * len(shown), 6))


def test_capture_stops_cleanly_on_ctrl_c(tcp_sender, tmp_path):
    out = tmp_path / "cap"
    proc = subprocess.Popen(
        [sys.executable, "-m", "framepipe", "capture", tcp_sender, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def written() -> int:  # a ".part" file being written is dropped on Ctrl-C, so it does not count
        return sum(not f.endswith(".part") for f in os.listdir(out)) if out.exists() else 0

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and written() < 8:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "stopped by Ctrl-C" in err and "Traceback" not in err
    files = sorted(os.listdir(out))
    assert len(files) >= 8 and not any(f.endswith(".part") for f in files)
    assert [read_index(np.asarray(Image.open(out / f))) for f in files] == list(range(len(files)))


def test_out_names_one_image_or_refuses(video, tmp_path):
    ok = run("extract", video, "--frames", "-1", "--out", tmp_path / "last.png")
    assert ok.returncode == 0, ok.stderr
    assert (
        read_index(np.asarray(Image.open(tmp_path / "last.png"))) == 89
    )  # -1 is the last frame, as in the API
    assert "1 frame from" in ok.stdout and ok.stdout.strip().endswith(str(tmp_path / "last.png"))  # the file
    resized = run(
        "extract",
        video,
        "--frames",
        "9",
        "--size",
        "64x64",
        "--resize",
        "shorter_side",
        "--out",
        tmp_path / "sq.jpg",
    )
    assert resized.returncode == 0, resized.stderr
    img = np.asarray(Image.open(tmp_path / "sq.jpg"))
    assert img.shape == (64, 64, 3) and read_index(img) == 9  # the centre square, not a stretched frame
    two = run("extract", video, "--frames", "1,2", "--out", tmp_path / "two.jpg")
    assert (
        two.returncode == 2
        and "one image, but 2 frames" in two.stderr
        and not (tmp_path / "two.jpg").exists()
    )
    text = run("extract", video, "--frames", "1", "--out", tmp_path / "frames.txt")
    assert text.returncode == 2 and "'.txt' is not an output type" in text.stderr
    assert not (tmp_path / "frames.txt").exists()


def test_times_past_the_end_and_empty_inputs_are_one_line_errors(video, tmp_path):
    late = run("extract", video, "--times", "1,25", "--out", tmp_path / "t")
    assert late.returncode == 1
    one_line_error(late, "v.mp4", "time 25 s is past the end", "3 s")
    early = run("extract", video, "--frames", "-91", "--out", tmp_path / "t")
    assert early.returncode == 1
    one_line_error(early, "frame -91 is past the end")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no videos here")
    empty = run("clips", tmp_path / "empty", "--length", "4", "--out", tmp_path / "e")
    assert empty.returncode == 1
    one_line_error(empty, "empty", "no videos")


def test_help_lists_every_command_in_full():
    proc = subprocess.run(
        [sys.executable, "-m", "framepipe", "--help"],
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="80"),
    )
    commands = proc.stdout.split("Commands:")[1].strip().splitlines()
    assert len(commands) == 7 and not any(line.rstrip().endswith("...") for line in commands), commands


def test_bench_chart_title_says_what_it_compares(tmp_path):
    from framepipe.tools import benchmark

    frames = []
    benchmark.ensure_video(
        1, data_dir=str(tmp_path), on_frame=lambda done, total: frames.append((done, total))
    )
    assert frames[-1] == (30, 30) and len(frames) == 30  # the progress bar's feed while it makes the video
    assert (
        benchmark.chart_title(["framepipe"])
        == "framepipe (no peers installed): 1080p30 H.264, 224x224 RGB output"
    )
    assert benchmark.chart_title(["framepipe", "decord"]).startswith("framepipe vs decord:")


def test_bench_prints_the_table_and_draws_the_chart(tmp_path):
    proc = run(
        "bench",
        "--seconds",
        "1",
        "--libs",
        "framepipe",
        "--plot",
        tmp_path / "chart.png",
        "--save",
        tmp_path / "r.json",
        "--data-dir",
        tmp_path / "data",
        "--quiet",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| clips_one_call | " in proc.stdout and "floor" in proc.stdout
    with Image.open(tmp_path / "chart.png") as img:
        assert img.format == "PNG" and img.size == (900, 450)
    rows = json.load(open(tmp_path / "r.json"))
    assert {r["task"] for r in rows if r["lib"] == "framepipe" and r["status"] == "ok"} >= {
        "windows",
        "clips_one_call",
    }
    replot = run(
        "bench", "--from", tmp_path / "r.json", "--libs", "framepipe", "--plot", tmp_path / "again.png"
    )
    assert replot.returncode == 0 and "| windows | " in replot.stdout
    bad = run("bench", "--libs", "framepipe,nope")
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_output_into_a_closed_pipe_ends_quietly(video, tmp_path):
    """`framepipe probe *.mp4 | head -1`: the reader leaves early; no "Broken pipe" error, the exit
    status a shell gives a process that SIGPIPE ended."""
    import fcntl

    paths = []
    for i in range(80):
        paths.append(str(tmp_path / f"v{i}.mp4"))
        os.link(video, paths[-1])
    # a one-page pipe that the 80 reports (27 KB) overflow: the writer must meet the closed end, however fast
    # it runs
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen(
        [sys.executable, "-m", "framepipe", "probe", *paths], stdout=write_end, stderr=subprocess.PIPE
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as out:
        first = out.readline()
    _, err = proc.communicate(timeout=120)
    assert first.strip()
    assert proc.returncode == 141, err.decode()
    assert b"Broken pipe" not in err and b"Error" not in err


# --- what a newcomer met: every file reported, truncation said, nothing silent, options as in the API ---
def test_probe_reports_every_file_and_exits_1_when_one_failed(video, tmp_path):
    missing = tmp_path / "missing.mp4"
    text = run("probe", video, missing)
    assert text.returncode == 1
    assert str(video) in text.stdout and "codec" in text.stdout  # the good file is still shown
    assert "missing.mp4" not in text.stdout  # the failure is said once, on stderr
    one_line_error(text, "missing.mp4", "no such file")
    assert text.stderr.count("no such file") == 1
    as_json = run("probe", "--json", video, missing)
    assert as_json.returncode == 1
    good, bad = json.loads(as_json.stdout)
    assert good["num_frames"] == 90 and good["truncated"] is False
    assert bad["path"] == str(missing) and "no such file" in bad["error"]


def test_probe_says_a_file_is_truncated_and_why_a_cut_mp4_without_moov_is_unreadable(tmp_path):
    faststart = make_video(
        tmp_path / "fast.mp4", num_frames=150, width=320, height=192, bframes=3,
        container_options={"movflags": "faststart"},
    )  # fmt: skip
    data = open(faststart, "rb").read()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.47)])  # mid-GOP: B-frames after the cut are lost
    text = run("probe", cut)
    assert text.returncode == 0, text.stderr
    assert "truncated    yes" in text.stdout and "variable fps no" in text.stdout
    assert json.loads(run("probe", "--json", cut).stdout)["truncated"] is True
    moov_last = make_video(tmp_path / "plain.mp4", num_frames=150, width=320, height=192)
    no_moov = tmp_path / "no_moov.mp4"
    no_moov.write_bytes(open(moov_last, "rb").read()[: len(data) // 2])
    one_line_error(run("probe", no_moov), "no_moov.mp4", "without its index (no moov box")


def test_nothing_made_is_an_error_that_says_why(video, tmp_path):
    clips = run("clips", video, "--length", "400", "--out", tmp_path / "clips")
    assert clips.returncode == 1
    assert "1 video too short for clips spanning 400 frames" in clips.stderr and "(90 frames)" in clips.stderr
    one_line_error(clips, "no clips were made")
    preview = run("preview", video, "--length", "400", "--out", tmp_path / "sheet.png")
    one_line_error(preview, "no clip fits", "span 400 frames and the video has 90")


def test_cli_options_read_as_the_api_reads_them(video, tmp_path):
    square = run("extract", video, "--frames", "3", "--size", "32", "--out", tmp_path / "sq.npz")
    assert square.returncode == 0, square.stderr
    assert np.load(tmp_path / "sq.npz")["frames"].shape == (1, 32, 32, 3)  # --size 224 is size=224
    bgr_png = run("extract", video, "--frames", "3", "--color", "bgr", "--out", tmp_path / "one.png")
    assert bgr_png.returncode == 2 and "image files hold RGB" in bgr_png.stderr
    assert not (tmp_path / "one.png").exists()
    stride_alone = run("preview", video, "--stride", "4", "--out", tmp_path / "s.png")
    assert stride_alone.returncode == 2 and "give --length too" in stride_alone.stderr


def test_extract_keyframes_nearest_the_times_or_every_keyframe(video, tmp_path):
    snapped = run("extract", video, "--fps", "1", "--snap", "keyframe", "--out", tmp_path / "snap.npz")
    assert snapped.returncode == 0, snapped.stderr
    with np.load(tmp_path / "snap.npz") as npz:  # keyframes every 15 frames (0.5 s) at 30 fps
        assert npz["indices"].tolist() == [0, 30, 60] and npz["requested_seconds"].tolist() == [0.0, 1.0, 2.0]
        assert [read_index(f) for f in npz["frames"]] == [0, 30, 60]
    every_key = run("extract", video, "--keyframes", "--out", tmp_path / "keys.npz")
    assert every_key.returncode == 0, every_key.stderr
    assert np.load(tmp_path / "keys.npz")["indices"].tolist() == [0, 15, 30, 45, 60, 75]
    by_index = run("extract", video, "--frames", "3", "--snap", "keyframe", "--out", tmp_path / "x.npz")
    assert by_index.returncode == 2 and "--snap keyframe samples by time" in by_index.stderr


def test_progress_bars_stay_off_pipes():
    from framepipe.cli.common import progress

    with progress(None, quiet=False) as bar:  # the test's stderr is captured: not a terminal
        assert bar.disable


def test_cli_polish_one_message_per_failure_naming_the_file(video, tmp_path):
    # probe of one missing file: the error once
    alone = run("probe", tmp_path / "missing.mp4")
    assert alone.returncode == 1 and alone.stdout == "" and alone.stderr.count("no such file") == 1
    # bench --from a file that is not saved results: the file and what is wrong
    bench = run("bench", "--from", video)
    one_line_error(bench, "v.mp4", "not a results file saved with --save")
    notes = tmp_path / "notes.json"
    notes.write_text('{"a": 1}')
    one_line_error(run("bench", "--from", notes), "notes.json", "no rows of results")
    # extract with no selection lists every way to select, --keyframes too
    proc = run("extract", video, "--out", tmp_path / "x")
    assert proc.returncode == 2 and "--keyframes" in proc.stderr
    # a folder is one framepipe message in every command that takes a video
    for command in (
        ["extract", tmp_path, "--frames", "1", "--out", tmp_path / "y"],
        ["preview", tmp_path, "--out", tmp_path / "s.png"],
        ["probe", tmp_path],
    ):
        one_line_error(run(*command), str(tmp_path), "is a directory, not a video file")
    # images are named by type the same way in preview and bench: .png, .jpg or .jpeg
    sheet = tmp_path / "sheet.jpg"
    assert run("preview", video, "--every", "30", "--out", sheet).returncode == 0
    assert sheet.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    for command in (["preview", video, "--out", tmp_path / "s.gif"], ["bench", "--plot", tmp_path / "c.gif"]):
        proc = run(*command)
        assert proc.returncode == 2 and "name the image .png, .jpg or .jpeg" in proc.stderr


def test_every_option_has_help_and_size_says_its_order():
    import click

    from framepipe.cli.main import cli

    missing = [
        (name, p.opts)
        for name, command in cli.commands.items()
        for p in command.params
        if isinstance(p, click.Option) and not p.hidden and not p.help
    ]
    assert missing == []
    size = next(p for p in cli.commands["extract"].params if p.name == "size")
    assert "width first" in size.help and "(height, width)" in size.help
