"""The benchmarks page is what benchmarks/tables.py makes of benchmarks/results/*.json: never hand-edited."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_benchmarks_page_matches_the_results():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "tables.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_no_dated_figures_in_source_comments():
    """Measurements live in benchmarks/results and the generated page, not in the code."""
    dated = []
    for path in (ROOT / "src" / "framepipe").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            comment = line.split("#", 1)[1] if "#" in line else ""
            if any(unit in comment for unit in (" ms ", " ms,", " s against", "x faster", "medians of")):
                dated.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not dated, "\n".join(dated)
