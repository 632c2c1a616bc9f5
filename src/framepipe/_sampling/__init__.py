"""Sampling, pure index math: which frames make each clip (windows, random, uniform, segments, by time,
Keras' timeseries windows). Public as :mod:`framepipe.sampling`."""
