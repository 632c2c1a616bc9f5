"""Every code block of the README runs as written: each in its own process, in a scratch folder where
set-up command 1's demo has made framepipe-demo/sample.mp4. The set-up commands themselves are what runs
this suite, so they are not run again here. A Python block that starts with ``# needs: ...`` (an S3 bucket,
a web server) is compiled, not run; tests/remote runs the same calls against moto's S3 server and nginx."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

README = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "README.md"
)


def _blocks() -> list:
    text = open(README, encoding="utf-8").read()
    found = []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        lang, code = m.group(1), m.group(2)
        line = text[: m.start()].count("\n") + 1
        if lang not in ("python", "bash"):
            raise AssertionError(f"README.md:{line}: a code block without python or bash cannot be checked")
        if lang == "bash" and "pip install" in code:  # the set-up commands
            continue
        found.append(pytest.param(lang, code, id=f"README.md:{line}-{lang}"))
    return found


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder after set-up command 1: its demo has written framepipe-demo/ there."""
    folder = tmp_path_factory.mktemp("readme")
    subprocess.run(
        [sys.executable, "-m", "framepipe.tools.demo", "--out", "framepipe-demo"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


def test_readme_has_code_blocks():
    assert len(_blocks()) >= 5


@pytest.mark.parametrize("lang, code", _blocks())
def test_readme_block_runs(lang, code, scratch, tmp_path):
    if lang == "python" and code.startswith("# needs:"):
        compile(code, "README.md", "exec")  # a service this machine has not: the code must at least parse
        return
    env = dict(os.environ)
    env["PATH"] = (
        os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    )  # the `framepipe` command
    env.pop("KERAS_BACKEND", None)  # the Keras example must choose its backend itself, as a reader's would
    env["FRAMEPIPE_CACHE_DIR"] = str(tmp_path / "cache")  # no index cache shared with the rest of the suite
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # the Ray example's local cluster binds 127.0.0.1 only
    cmd = [sys.executable, "-c", code] if lang == "python" else ["bash", "-euo", "pipefail", "-c", code]
    proc = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
