"""Which videos a dataset or reader takes: folders, manifests, globs, paths and URLs (no decoding)."""

from __future__ import annotations

import pytest

from framepipe._adapters.listing import VideoSource, resolve_sources


@pytest.fixture
def tree(tmp_path):
    for rel in ("jump/a.mp4", "jump/b.MKV", "run/c.mp4", "run/notes.txt", "loose.mp4"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    return tmp_path


def test_folder_of_classes(tree):
    found = resolve_sources(str(tree))
    assert [(s.path.split("/")[-1], s.label) for s in found] == [
        ("a.mp4", "jump"),
        ("b.MKV", "jump"),
        ("c.mp4", "run"),
    ]
    with pytest.raises(ValueError, match="labels come from the class sub-folders"):
        resolve_sources(str(tree), ["x"])


def test_glob_local_and_labels(tree):
    found = resolve_sources(str(tree / "*" / "*.mp4"))
    assert sorted(s.path.split("/")[-1] for s in found) == ["a.mp4", "c.mp4"]
    assert [s.label for s in resolve_sources(str(tree / "loose.mp4"), ["only"])] == ["only"]
    with pytest.raises(ValueError, match="matches no files"):
        resolve_sources(str(tree / "*.webm"))


def test_manifests_keep_urls_and_resolve_relative_paths(tmp_path):
    (tmp_path / "m.csv").write_text("path,label\nclips/a.mp4,walk\ns3://bucket/b.mp4,run\n")
    (tmp_path / "m.jsonl").write_text('{"path": "c.mp4", "label": 3, "start": 1.5, "end": 4}\n')
    csv_rows = resolve_sources(str(tmp_path / "m.csv"))
    assert csv_rows == [
        VideoSource(str(tmp_path / "clips/a.mp4"), "walk"),
        VideoSource("s3://bucket/b.mp4", "run"),
    ]
    assert resolve_sources(str(tmp_path / "m.jsonl")) == [VideoSource(str(tmp_path / "c.mp4"), 3, 1.5, 4.0)]


def test_lists_and_sources():
    assert resolve_sources(["https://h/a.mp4", "b.mp4"], [0, 1]) == [
        VideoSource("https://h/a.mp4", 0),
        VideoSource("b.mp4", 1),
    ]
    given = [VideoSource("x.mp4", "a")]
    assert resolve_sources(given) == given
    with pytest.raises(ValueError, match="one entry per path"):
        resolve_sources(["a.mp4", "b.mp4"], ["x"])
