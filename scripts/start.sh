#!/usr/bin/env bash
# Set up (if needed) and start the chat app on http://localhost:8501.
# The index is built on first start if missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Build the index now if needed, so the first question is answered at once
# (the app would also build it, with a progress box, if it went missing later).
.venv/bin/python -m retrieval build --if-needed
exec .venv/bin/python -m streamlit run app.py "$@"
