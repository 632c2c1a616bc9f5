"""Stage 4, pixels: colour conversion and scaling as the ffmpeg CLI does them, the output format, placing
frames into the output in the order asked, and the recent frames kept for overlapping calls. Files and
live streams share it."""
