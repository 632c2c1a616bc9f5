#!/usr/bin/env bash
# Run LeRobot's own dataset tests twice, with LeRobot's decoders and with framepipe's
# (tests/support/lerobot_plugin.py), and show how the outcomes differ.
#
#   scripts/lerobot-suite.sh path/to/lerobot-checkout [python3.12]
#
# LeRobot needs Python >= 3.12 and torch < 2.12 with torchvision: from PyPI these are the CUDA builds
# (several GB), which run on a CPU too. Its tests come from a checkout (they are not in the wheel). The
# virtual environment is made once, in .lerobot-venv beside this project's .venv.
set -euo pipefail
lerobot=${1:?usage: scripts/lerobot-suite.sh path/to/lerobot-checkout [python3.12]}
python=${2:-python3.12}
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.lerobot-venv"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q -e "$lerobot[dataset,test]" -e "$here"
fi
out=$(mktemp -d)
cd "$lerobot"
for run in lerobot framepipe; do
    plugin=()
    [ "$run" = framepipe ] && plugin=(-p support.lerobot_plugin)
    PYTHONPATH="$here/tests${PYTHONPATH:+:$PYTHONPATH}" "$venv/bin/python" -m pytest -q -p no:cacheprovider "${plugin[@]}" tests/datasets -rf --timeout 300 \
        > "$out/$run.txt" 2>&1 || true
    echo "$run: $(tail -n 1 "$out/$run.txt")"
done
grep '^FAILED' "$out/lerobot.txt" | cut -d' ' -f2 | sort > "$out/lerobot.failed" || true
grep '^FAILED' "$out/framepipe.txt" | cut -d' ' -f2 | sort > "$out/framepipe.failed" || true
echo "fail only with framepipe:"; comm -13 "$out/lerobot.failed" "$out/framepipe.failed"
echo "fail only with LeRobot's decoders:"; comm -23 "$out/lerobot.failed" "$out/framepipe.failed"
echo "full outputs in $out"
