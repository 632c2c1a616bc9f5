"""Stage 5, the file reader: :class:`~framepipe.VideoFile` and :func:`framepipe.open` put the source,
index, decode and pixel stages together.

Internal; the public names are :func:`framepipe.open` and :class:`framepipe.VideoFile`.
"""
