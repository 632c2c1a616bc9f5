"""Root pytest configuration: applies to the tests and to the doctests under src/."""

import os

# Keras 3 picks its backend at import; the test environment has torch, not TensorFlow
os.environ.setdefault("KERAS_BACKEND", "torch")
