#!/usr/bin/env bash
# StreamOps setup and launcher for Debian 12 (run as root, or with sudo available).
#   ./setup.sh run [streamops run args]   install what is missing, then run the hub on the shipped defaults
#   ./setup.sh test [pytest args]         install what is missing (incl. test tools), then run the test suite
#   ./setup.sh install [--test]           only install
set -euo pipefail
cd "$(dirname "$0")"

RUN_PACKAGES=(python3 python3-venv python3-dev gcc ffmpeg sqlite3)
TEST_PACKAGES=(mosquitto nats-server chromium chromium-driver xvfb obs-studio openssl)

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
  fi
}

install() {
  local with_test=${1:-}
  apt_install "${RUN_PACKAGES[@]}"
  [ -z "$with_test" ] || apt_install "${TEST_PACKAGES[@]}"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  local stamp=.venv/.installed$with_test
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    if [ -n "$with_test" ]; then
      .venv/bin/python -m pip install -q -e '.[test]'
    else
      .venv/bin/python -m pip install -q -e .
    fi
    touch "$stamp"
  fi
}

cmd=${1:-run}
[ $# -gt 0 ] && shift
case "$cmd" in
  install) install "${1:+test}" ;;
  run) install; exec .venv/bin/streamops run "$@" ;;
  test) install test; exec .venv/bin/python -m pytest -q "$@" ;;
  *) echo "usage: $0 run|test|install [--test]" >&2; exit 2 ;;
esac
