"""Every code block of the README and of the guides in docs/ runs as written, with only the extras it names.

Each block runs in its own process, in a scratch folder where set-up command 1's demo has made
framepipe-demo/sample.mp4. The set-up commands themselves are what runs this suite, so they are not run
again here. A block that starts with ``# needs: ...`` (an S3 bucket, a LeRobot checkout) is compiled, not
run; tests/remote and tests/integrations run the same calls against moto's S3 server, nginx and LeRobot's
own code.

A block that starts with ``# extra: ray, torch`` names the framepipe extras (or other packages) it needs;
one with no such line needs the core only. The block runs with every installed package outside those
extras' dependency trees made unimportable (a ``sitecustomize`` raises ``ModuleNotFoundError`` for them,
as a fresh environment with only those extras would), so an example that needs more than it names fails.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCUMENTS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs/guides").glob("*.md")),
]
FRAMEPIPE_EXTRAS = ("torch", "keras", "ray", "remote", "lerobot", "cli")

_BLOCKER = """
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

    def invalidate_caches(self):
        for finder in self.finders:
            if hasattr(finder, "invalidate_caches"):
                finder.invalidate_caches()


sys.meta_path[:] = [_OnlyTheseExtras(list(sys.meta_path))]
# the example's own process only: the servers a library starts (Ray's raylet and agents) run as installed
os.environ["PYTHONPATH"] = os.environ.pop("FRAMEPIPE_EXAMPLE_PYTHONPATH", "")
os.environ.pop("FRAMEPIPE_EXAMPLE_BLOCKED", None)
"""


def _blocks() -> list:
    found = []
    for doc in DOCUMENTS:
        text = doc.read_text(encoding="utf-8")
        for m in re.finditer(r"^```([^\n]*)\n(.*?)^```$", text, re.S | re.M):
            lang, code = m.group(1), m.group(2)
            where = f"{doc.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
            if lang.startswith("{"):  # a MyST directive (a table of contents), not code
                continue
            if lang not in ("python", "bash"):
                raise AssertionError(f"{where}: a code block without python or bash cannot be checked")
            if lang == "bash" and "pip install" in code:  # the set-up commands
                continue
            found.append(pytest.param(lang, code, id=f"{where}-{lang}"))
    return found


def _name(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


@functools.cache
def _installed() -> dict[str, md.Distribution]:
    return {_name(d.metadata["Name"]): d for d in md.distributions() if d.metadata["Name"]}


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


def _allowed(names: list[str]) -> set[str]:
    reqs = [Requirement("framepipe")]
    for name in names:
        reqs.append(Requirement(f"framepipe[{name}]" if name in FRAMEPIPE_EXTRAS else name))
    return _closure(reqs)


def _blocked(names: list[str]) -> list[str]:
    """Top-level modules of every installed distribution that the named extras do not bring."""
    allowed = _allowed(names)
    providers: dict[str, set[str]] = {}
    for module, dists in md.packages_distributions().items():
        providers.setdefault(module, set()).update(_name(d) for d in dists)
    return sorted(
        module
        for module, dists in providers.items()
        if not (dists & allowed) and module.isidentifier() and module not in sys.stdlib_module_names
    )


def _extras(code: str) -> list[str]:
    m = re.match(r"# extra: ([\w, \[\]-]+)", code)
    return [e.strip() for e in m.group(1).split(",") if e.strip()] if m else []


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder after set-up command 1: its demo has written framepipe-demo/ there."""
    folder = tmp_path_factory.mktemp("examples")
    subprocess.run(
        [sys.executable, "-m", "framepipe.tools.demo", "--out", "framepipe-demo"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


def test_there_are_examples_and_the_readme_is_short():
    assert len(_blocks()) >= 15
    assert (ROOT / "README.md").read_text().count("\n") <= 200


def test_an_example_that_needs_more_than_it_names_fails(scratch, tmp_path):
    """The check itself: torch is unimportable for a core-only block."""
    proc = _run("python", "import torch\n", scratch, tmp_path)
    assert proc.returncode != 0 and "No module named 'torch'" in proc.stderr


@pytest.mark.parametrize("lang, code", _blocks())
def test_example_runs(lang, code, scratch, tmp_path):
    if lang == "python" and code.startswith("# needs:"):
        compile(code, "example", "exec")  # a service this machine has not: the code must at least parse
        return
    proc = _run(lang, code, scratch, tmp_path)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    # examples run clean where set-up runs them (Ray's deprecation notices about its own internals aside)
    warned = [
        line for line in proc.stderr.splitlines() if "Warning" in line and "site-packages/ray/" not in line
    ]
    assert not warned, proc.stderr[-4000:]


def _run(lang: str, code: str, scratch, tmp_path) -> subprocess.CompletedProcess:
    work = tmp_path / "work"  # each example starts from set-up command 1's folder, as a reader would
    shutil.copytree(scratch, work)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_BLOCKER)
    env = dict(os.environ)
    env["PATH"] = (
        os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    )  # the `framepipe` command
    env["FRAMEPIPE_EXAMPLE_PYTHONPATH"] = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH", "")]))
    env["FRAMEPIPE_EXAMPLE_BLOCKED"] = ",".join(_blocked(_extras(code)))
    env.pop("KERAS_BACKEND", None)  # the Keras example must choose its backend itself, as a reader's would
    env["FRAMEPIPE_CACHE_DIR"] = str(tmp_path / "cache")  # no index cache shared with the rest of the suite
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # the Ray example's local cluster binds 127.0.0.1 only
    cmd = [sys.executable, "-c", code] if lang == "python" else ["bash", "-euo", "pipefail", "-c", code]
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
