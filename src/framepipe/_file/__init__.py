"""The file path: source -> index (+ cache) -> plan -> decode -> format -> reader.

Internal; the public names are :func:`framepipe.open` and :class:`framepipe.VideoFile`.
"""
