"""Stage 1, the source: what a video is (a path, a URL through fsspec, bytes, a file object), how its
container opens, which stream is read (shared with the live path), and how it asks to be shown (the
display matrix)."""
