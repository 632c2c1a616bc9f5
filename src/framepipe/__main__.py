"""``python -m framepipe``: the same as the ``framepipe`` command."""

from framepipe.cli import main

main()
