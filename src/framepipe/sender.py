"""``python -m framepipe.sender``: live test senders on 127.0.0.1 (the code is :mod:`framepipe.tools.sender`)."""

from .tools.sender import main

if __name__ == "__main__":
    raise SystemExit(main())
