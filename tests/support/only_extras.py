"""Running code as if only some extras were installed: every installed package outside those extras'
dependency trees is made unimportable in the child process (a ``sitecustomize`` hides it from the
import system, so importing it fails and ``importlib.util.find_spec`` says None, as where it is not
installed). Used by tests/docs (every example with only the extras it names) and tests/unit (each
adapter's message when its extra is missing)."""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import pathlib
import re
import subprocess
import sys

from packaging.requirements import Requirement

FRAMEPIPE_EXTRAS = ("torch", "keras", "ray", "remote", "lerobot", "cli")

BLOCKER = """
import importlib.abc, os, sys

_BLOCKED = frozenset(filter(None, os.environ.get("FRAMEPIPE_EXAMPLE_BLOCKED", "").split(",")))


class _OnlyTheseExtras(importlib.abc.MetaPathFinder):
    \"\"\"The interpreter's finders, blind to the blocked packages: importing one fails, and
    importlib.util.find_spec says None, as where the package is not installed.\"\"\"

    def __init__(self, finders):
        self.finders = finders

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            return None
        for finder in self.finders:
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                return spec
        return None

    def find_distributions(self, *args, **kwargs):
        # installed packages' metadata stays readable (httpcore2, say, asks for its own version)
        for finder in self.finders:
            if hasattr(finder, "find_distributions"):
                yield from finder.find_distributions(*args, **kwargs)

    def invalidate_caches(self):
        for finder in self.finders:
            if hasattr(finder, "invalidate_caches"):
                finder.invalidate_caches()


sys.meta_path[:] = [_OnlyTheseExtras(list(sys.meta_path))]
# the example's own process only: the servers a library starts (Ray's raylet and agents) run as installed
os.environ["PYTHONPATH"] = os.environ.pop("FRAMEPIPE_EXAMPLE_PYTHONPATH", "")
os.environ.pop("FRAMEPIPE_EXAMPLE_BLOCKED", None)
"""


def _name(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _search_path() -> list[str]:
    """sys.path without folders inside a site-packages folder: a library's vendored copies (Ray puts its
    thirdparty_files on sys.path once imported) are not installed distributions."""
    inside = f"site-packages{os.sep}"
    return [
        p
        for p in sys.path
        if inside not in p.rstrip(os.sep) + os.sep or p.rstrip(os.sep).endswith("site-packages")
    ]


@functools.cache
def _installed() -> dict[str, md.Distribution]:
    dists = md.distributions(path=_search_path())
    return {_name(d.metadata["Name"]): d for d in dists if d.metadata["Name"]}


def _top_level(dist: md.Distribution) -> set[str]:
    """The modules a distribution installs at the top (as importlib.metadata.packages_distributions)."""
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names = set()
    for f in dist.files or []:
        first = f.parts[0] if f.parts else ""
        if first.endswith(".py"):
            names.add(first[:-3])
        elif first and not first.endswith((".dist-info", ".egg-info", ".data", ".pth")) and "." not in first:
            names.add(first)
    return names


def _closure(requirements: list[Requirement]) -> set[str]:
    """The installed distributions these requirements pull in, their own requirements included."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(_name(r.name), frozenset(r.extras)) for r in requirements]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen or name not in _installed():
            continue
        seen.add((name, extras))
        for line in _installed()[name].requires or []:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (*extras, "")):
                todo.append((_name(req.name), frozenset(req.extras)))
    return {name for name, _ in seen}


# a package a reader installs under one name, installed here under another that provides the same modules
ALIASES = {"tensorflow": "tensorflow-cpu"}


def _allowed(names: list[str]) -> set[str]:
    reqs = [Requirement("framepipe")]
    for name in names:
        if _name(name) not in _installed() and name in ALIASES:
            name = ALIASES[name]
        reqs.append(Requirement(f"framepipe[{name}]" if name in FRAMEPIPE_EXTRAS else name))
    return _closure(reqs)


def blocked_modules(names: list[str]) -> list[str]:
    """Top-level modules of every installed distribution that the named extras do not bring."""
    allowed = _allowed(names)
    providers: dict[str, set[str]] = {}
    for name, dist in _installed().items():
        for module in _top_level(dist):
            providers.setdefault(module, set()).add(name)
    return sorted(
        module
        for module, dists in providers.items()
        if not (dists & allowed) and module.isidentifier() and module not in sys.stdlib_module_names
    )


def run_with_only(
    extras: list[str],
    argv: list[str],
    *,
    cwd,
    tmp_path: pathlib.Path,
    env: dict | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Run ``argv`` (a Python or a shell command line) with only ``extras`` importable in its Python."""
    site = tmp_path / "only-extras-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ if env is None else env)
    env["FRAMEPIPE_EXAMPLE_PYTHONPATH"] = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH", "")]))
    env["FRAMEPIPE_EXAMPLE_BLOCKED"] = ",".join(blocked_modules(extras))
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
