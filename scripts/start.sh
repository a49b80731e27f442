#!/usr/bin/env bash
# Set up (if needed) and start the chat app on http://localhost:8501.
# The index is built on first start if missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m streamlit run app.py "$@"
