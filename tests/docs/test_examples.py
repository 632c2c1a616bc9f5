"""Every code block of the README and of the guides in docs/ runs as written, with only the extras it names.

Each block runs in its own process, in a scratch folder where set-up command 1's demo has made
framepipe-demo/sample.mp4. The set-up commands themselves are what runs this suite, so they are not run
again here. A block that starts with ``# needs: ...`` (an S3 bucket, Python 3.12) is compiled (bash:
parsed), not run; tests/remote and tests/integrations run the same calls against moto's S3 server, nginx
and LeRobot's own code.

A block that starts with ``# extra: ray, torch`` names the framepipe extras (or other packages) it needs;
one with no such line needs the core only. The block runs with every installed package outside those
extras' dependency trees made unimportable (a ``sitecustomize`` raises ``ModuleNotFoundError`` for them,
as a fresh environment with only those extras would), so an example that needs more than it names fails.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from support.only_extras import run_with_only

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCUMENTS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs/guides").glob("*.md")),
]


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
            found.append(pytest.param(lang, code, None, id=f"{where}-{lang}"))
            extras = _extras(code)
            # a Keras example that names no backend of its own runs on the user's, whichever it is
            if "keras" in extras and not set(extras) & set(KERAS_BACKENDS):
                for backend in KERAS_BACKENDS:
                    found.append(pytest.param(lang, code, backend, id=f"{where}-{lang}-{backend}"))
    return found


# the backends a Keras example is run on besides the one it names: with KERAS_BACKEND set as a user's
# shell would, and only Keras and that backend installed
KERAS_BACKENDS = ("tensorflow", "jax")


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


@pytest.mark.parametrize("lang, code, backend", _blocks())
def test_example_runs(lang, code, backend, scratch, tmp_path):
    if code.startswith("# needs:"):  # a service or a Python this machine has not: it must at least parse
        if lang == "python":
            compile(code, "example", "exec")
        else:
            assert subprocess.run(["bash", "-n", "-c", code], capture_output=True).returncode == 0
        return
    proc = _run(lang, code, scratch, tmp_path, keras_backend=backend)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    # examples run clean where set-up runs them (Ray's deprecation notices about its own internals aside)
    warned = [
        line for line in proc.stderr.splitlines() if "Warning" in line and "site-packages/ray/" not in line
    ]
    assert not warned, proc.stderr[-4000:]


def _run(
    lang: str, code: str, scratch, tmp_path, keras_backend: str | None = None
) -> subprocess.CompletedProcess:
    work = tmp_path / "work"  # each example starts from set-up command 1's folder, as a reader would
    shutil.copytree(scratch, work)
    env = dict(os.environ)
    env["PATH"] = (
        os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    )  # the `framepipe` command
    env.pop("KERAS_BACKEND", None)  # the Keras example must choose its backend itself, as a reader's would
    extras = _extras(code)
    if keras_backend is not None:  # ... or take the one the reader's shell sets, with only it installed
        env["KERAS_BACKEND"] = keras_backend
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"  # TensorFlow's start-up notices on stderr are not warnings
        extras = [e for e in extras if e not in ("torch", *KERAS_BACKENDS)] + [keras_backend]
    env["FRAMEPIPE_CACHE_DIR"] = str(tmp_path / "cache")  # no index cache shared with the rest of the suite
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # the Ray example's local cluster binds 127.0.0.1 only
    cmd = [sys.executable, "-c", code] if lang == "python" else ["bash", "-euo", "pipefail", "-c", code]
    return run_with_only(extras, cmd, cwd=work, tmp_path=tmp_path, env=env)
