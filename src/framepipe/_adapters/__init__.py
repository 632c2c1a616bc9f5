"""The machinery behind the public adapters: video listings and datasets, the one reader pool, the PyTorch
and Keras datasets, the Ray datasource and its planning, and the LeRobot backend and its installation."""
