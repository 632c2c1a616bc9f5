"""``python -m framepipe.demo``: the README's set-up demo (the code is :mod:`framepipe.tools.demo`)."""

import sys

from .tools.demo import main

if __name__ == "__main__":
    sys.exit(main())
