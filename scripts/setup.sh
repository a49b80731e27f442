#!/usr/bin/env bash
# Create .venv, install requirements.txt into it, then this project (editable, so
# `retrieval` and `webapp` import from any folder); a no-op when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "Creez mediul virtual .venv…" >&2
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Instalez dependențele din requirements.txt (prima dată durează câteva minute)…" >&2
  .venv/bin/python -m pip install --quiet -r requirements.txt
  # -qq: setuptools warns about every flat-layout editable install; errors still show.
  .venv/bin/python -m pip install --quiet --quiet --no-deps -e .
  echo "$want" > "$stamp"
fi
