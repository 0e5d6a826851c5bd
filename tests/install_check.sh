#!/usr/bin/env bash
# Installs the project with another Python into a fresh venv in a temporary folder, then runs
# `zoo quickstart` (train, export, reload, tag) with it. Proves `requires-python` is true.
#
#   tests/install_check.sh python3.12 [TIMEOUT_SECONDS]
#
# Exits non-zero when the venv, the install or the quickstart fails or runs past the timeout
# (default 1800 s); prints the time each step took. Removes its temporary folder on exit.
set -euo pipefail
python="${1:?usage: tests/install_check.sh PYTHON [TIMEOUT_SECONDS]}"
limit="${2:-1800}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/zoo-install-check.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
deadline=$((SECONDS + limit))
step() {  # step NAME COMMAND...: runs COMMAND within what is left of the time limit
  local name="$1" started=$SECONDS left=$((deadline - SECONDS))
  shift
  if ((left <= 0)) || ! timeout "$left" "$@" >"$tmp/$name.log" 2>&1; then
    echo "install check ($python): $name failed or timed out after $((SECONDS - started)) s; last lines:" >&2
    tail -n 20 "$tmp/$name.log" >&2
    exit 1
  fi
  echo "install check ($python): $name ok in $((SECONDS - started)) s"
}
step venv "$python" -m venv "$tmp/venv"
step install "$tmp/venv/bin/pip" install --quiet "$repo"
step help "$tmp/venv/bin/zoo" --help
step quickstart "$tmp/venv/bin/zoo" quickstart --workdir "$tmp/run" --export-dir "$tmp/run/saved_models"
grep -q "done in" "$tmp/quickstart.log" && test -f "$tmp/run/saved_models/bilstm_ner/1/saved_model.pb"
"$tmp/venv/bin/python" -c 'import platform, tensorflow as tf; print("install check:", platform.python_version(), "tensorflow", tf.__version__)' 2>/dev/null
tail -n 3 "$tmp/quickstart.log"
