#!/usr/bin/env bash
# The oldest PyAV that pyproject.toml accepts (LeRobot pins av>=15,<16), tested beside the newest one that the
# main run installed: the file, live-stream and unit tests, with every other dependency as installed. The old
# PyAV goes to its own folder (.pyav-oldest), put first on PYTHONPATH for this run only; the environment's
# own PyAV is left as it is. Run it from the activated test environment (the README's test command does).
set -euo pipefail
cd "$(dirname "$0")/.."
floor=$(python -c 'import re; print(re.search(r"\"av>=([0-9.]+)", open("pyproject.toml").read()).group(1))')
target="$PWD/.pyav-oldest"
if ! ls "$target"/av-"$floor"*.dist-info >/dev/null 2>&1; then
    rm -rf "$target"
    python -m pip install -q --no-deps --target "$target" "av==$floor"  # "==15" is 15.0.0: the oldest
fi
version=$(PYTHONPATH="$target" python -c "import av; print(av.__version__)")
echo "test-oldest-pyav: PyAV $version (the floor, av>=$floor) on tests/file tests/live tests/unit"
PYTHONPATH="$target" python -m pytest -q -p no:cacheprovider tests/file tests/live tests/unit
