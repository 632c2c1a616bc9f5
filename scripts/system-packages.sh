#!/usr/bin/env bash
# System packages some tests use, from Debian/Ubuntu apt: nginx (the HTTP tests of remote videos), the ffmpeg
# CLI (the reference that rotation and colour are compared with), and
# GStreamer's RTSP server (python3-gi, run by the
# RTSP tests under the system python3). As root it installs them; otherwise through sudo if sudo works
# without a password; otherwise it says what is missing and the tests that need them skip with a reason.
# With FRAMEPIPE_REQUIRE_SYSTEM_PACKAGES=1 (.ci/run sets it) not installing them is an error.
set -u
PACKAGES="python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly nginx-light ffmpeg"
required="${FRAMEPIPE_REQUIRE_SYSTEM_PACKAGES:-0}"

give_up() {
    echo "system-packages: $1; not installing: $PACKAGES (the tests that need them will skip)" >&2
    [ "$required" = 1 ] && exit 1
    exit 0
}

command -v apt-get >/dev/null 2>&1 || give_up "no apt-get on this machine"
if [ "$(id -u)" = 0 ]; then
    run=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run="sudo -n"
else
    give_up "not root, and sudo asks for a password"
fi
export DEBIAN_FRONTEND=noninteractive
$run apt-get update -qq || give_up "apt-get update failed"
# shellcheck disable=SC2086
$run apt-get install -y -qq $PACKAGES >/dev/null || give_up "apt-get install failed"
