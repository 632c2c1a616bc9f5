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
    # every video below the folder: a class sub-folder labels its videos, one in the root is unlabelled
    assert [(s.path.split("/")[-1], s.label, s.key) for s in found] == [
        ("a.mp4", "jump", "jump/a.mp4"),
        ("b.MKV", "jump", "jump/b.MKV"),
        ("loose.mp4", None, "loose.mp4"),
        ("c.mp4", "run", "run/c.mp4"),
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
        VideoSource(str(tmp_path / "clips/a.mp4"), "walk", key="clips/a.mp4"),
        VideoSource("s3://bucket/b.mp4", "run", key="s3://bucket/b.mp4"),
    ]
    assert resolve_sources(str(tmp_path / "m.jsonl")) == [
        VideoSource(str(tmp_path / "c.mp4"), 3, 1.5, 4.0, key="c.mp4")
    ]


def test_lists_and_sources():
    # keys: a URL and a local file share no folder, so each keeps its whole name
    assert [(s.path, s.label) for s in resolve_sources(["https://h/a.mp4", "b.mp4"], [0, 1])] == [
        ("https://h/a.mp4", 0),
        ("b.mp4", 1),
    ]
    given = [VideoSource("x.mp4", "a", key="x.mp4")]
    assert resolve_sources(given) == given
    with pytest.raises(ValueError, match="one entry per path"):
        resolve_sources(["a.mp4", "b.mp4"], ["x"])


def test_keys_are_the_same_however_the_videos_are_named(tree):
    """The seeding rule's key: a video's path relative to the folder the request names, the same for
    the folder, a glob of it, and a list of its files (absolute or relative)."""
    by_folder = {s.path: s.key for s in resolve_sources(str(tree))}
    by_glob = {s.path: s.key for s in resolve_sources(str(tree / "**" / "*.*"))}
    paths = sorted(by_folder)
    by_list = {s.path: s.key for s in resolve_sources(paths)}
    assert by_folder == by_list
    assert {p: k for p, k in by_glob.items() if p in by_folder} == by_folder
    one = resolve_sources(str(tree / "run" / "c.mp4"))
    assert [s.key for s in one] == ["c.mp4"]
    urls = resolve_sources(["s3://b/data/walk/a.mp4", "s3://b/data/run/b.mp4"])
    assert [s.key for s in urls] == ["walk/a.mp4", "run/b.mp4"]


def test_one_label_mapping():
    from framepipe._adapters.listing import LabelMap

    names = LabelMap(["walk", "run", None])
    assert names.classes == ["run", "walk"] and [names.id(x) for x in ("walk", "run", None)] == [1, 0, -1]
    ints = LabelMap([3, 0, None])
    assert ints.classes == [] and [ints.id(x) for x in (3, 0, None)] == [3, 0, -1]
    with pytest.raises(ValueError, match="labels mix ints and class names"):
        LabelMap([1, "walk"])
    with pytest.raises(ValueError, match="not one of classes"):
        LabelMap(["jog"], classes=["walk"])
