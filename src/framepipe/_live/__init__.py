"""The live path: source -> receiver -> ring -> stream.

Internal; the public names are :func:`framepipe.open_stream` and :class:`framepipe.LiveStream`.
"""
