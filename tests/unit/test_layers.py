"""The layout's rule: a stage imports only earlier stages (and itself). Read from every module's imports,
those inside functions included, so a newcomer can trust the folder names.

The order, first to last (docs/architecture.md draws it):

    _util, errors, types  ->  _source  ->  _index  ->  _decode  ->  _pixels  ->  _file  ->  _live
    ->  _sampling, augment  ->  _adapters  ->  the public modules  ->  tools  ->  cli
"""

from __future__ import annotations

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "framepipe"

# each top-level part of the package and its rank: a module may import parts of its rank or lower
RANKS = {
    "_util": 0,
    "errors": 0,
    "types": 0,
    "_source": 1,
    "_index": 2,
    "_decode": 3,
    "_pixels": 4,
    "_file": 5,
    "_live": 6,
    "_sampling": 7,
    "augment": 7,
    "_adapters": 8,
    "__init__": 9,
    "format": 9,
    "sampling": 9,
    "dataset": 9,
    "torch": 9,
    "keras": 9,
    "ray": 9,
    "lerobot": 9,
    "tools": 10,
    "cli": 11,
    "__main__": 11,
}
PUBLIC = {"errors", "types", "format", "sampling", "augment", "dataset", "torch", "keras", "ray", "lerobot"}


def _modules() -> list[pathlib.Path]:
    return sorted(SRC.rglob("*.py"))


def _part(module: str) -> str:
    """``framepipe._index.cache`` -> ``_index``; ``framepipe`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _name(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, framepipe module) for every import of framepipe in ``path``."""
    module = _name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "framepipe"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "framepipe":
                continue
            if target == "framepipe":  # `from framepipe import sampling`: the names are modules or the API
                found += [
                    (node.lineno, f"framepipe.{a.name}" if a.name in RANKS else "framepipe")
                    for a in node.names
                ]
            else:
                found.append((node.lineno, target))
    return found


def test_every_part_of_the_package_has_a_rank():
    parts = {_part(_name(p)) for p in _modules()}
    assert parts <= set(RANKS), sorted(parts - set(RANKS))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_a_stage_imports_only_earlier_stages(path):
    own = _part(_name(path))
    wrong = [
        f"{path.relative_to(SRC)}:{line} imports {target} ({_part(target)} comes after {own})"
        for line, target in _imports(path)
        if RANKS[_part(target)] > RANKS[own]
    ]
    assert not wrong, "\n".join(wrong)


def test_at_most_twelve_modules_at_the_top_and_thin_public_facades():
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert len(top) <= 12, top
    for name in PUBLIC - {"errors", "types", "augment"}:  # definitions, not facades
        lines = (SRC / f"{name}.py").read_text().count("\n")
        assert lines <= 150, f"framepipe/{name}.py has {lines} lines: a public module is a facade"


def test_no_module_reads_another_modules_private_attributes():
    """``other._name`` where ``other`` is a module framepipe imported, e.g. ``reader._index``: a seam."""
    crossing = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        imported = {
            (a.asname or a.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and (node.level or (node.module or "").startswith("framepipe"))
            for a in node.names
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                crossing.append(f"{path.relative_to(SRC)}:{node.lineno} {node.value.id}.{node.attr}")
    assert not crossing, "\n".join(crossing)


def test_docstring_fragments_are_filled_in():
    """Every ``{name}`` of the shared fragments is replaced where a public object is documented."""
    import framepipe
    import framepipe.dataset
    import framepipe.ray
    import framepipe.torch
    from framepipe._util.docs import FRAGMENTS

    objects = [framepipe.open, framepipe.open_stream, framepipe.ray.read_clips, framepipe.ray.read_frames]
    objects += [framepipe.torch.ClipDataset, framepipe.torch.WindowStream, framepipe.dataset.VideoDataset]
    for obj in objects:
        assert not [name for name in FRAGMENTS if "{" + name + "}" in obj.__doc__], obj
        assert "FrameFormat" in obj.__doc__ or "fsspec" in obj.__doc__, obj
