#!/usr/bin/env bash
# Set up Jikimi on a fresh Debian machine: system packages, a virtualenv in .venv, the package.
# Usage: scripts/setup.sh [EXTRAS]   (EXTRAS default "all"; the tests use "dev")
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-all}"

# vpdq compiles against FFmpeg's libraries; PyAV ships its own wheels.
apt_packages=(pkg-config cmake g++ libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
              libavdevice-dev libavfilter-dev python3-venv
              fonts-nanum)  # Korean TrueType glyphs embedded in PDF reports

# The console's browser tests drive Debian's chromium (Playwright downloads no browser).
if [ "$extras" = "dev" ]; then
  apt_packages+=(chromium fonts-noto-cjk)  # Korean in the console's screenshots
  apt_packages+=(openssl)  # a local time-stamp authority (openssl ts) in the evidence tests
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${extras}]"
# The Stable Diffusion watermark decoder; its declared torch dependency serves only RivaGAN.
.venv/bin/python -m pip install -q --no-deps "invisible-watermark==0.2.0"
echo "jikimi installed in .venv ($(.venv/bin/jikimi --version))"
