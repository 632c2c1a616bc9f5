"""The ``framepipe`` command line (extra ``[cli]``): probe, extract, clips, capture, preview, bench.

Exit codes: 0 success, 2 bad usage (click's own), 1 failure, with a one-line message naming the file;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    try:
        import click  # noqa: F401
        import tqdm  # noqa: F401
    except ImportError as exc:
        print(
            f"framepipe: the command line needs the [cli] extra ({exc.name} is missing): "
            f"pip install 'framepipe[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    from .main import cli

    cli.main(args=argv, prog_name="framepipe")
