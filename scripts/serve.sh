#!/usr/bin/env bash
# Set up (if needed), build the index if missing or stale, then serve the HTTP API and the widget
# on http://localhost:${PORT:-8000} with ${WORKERS:-one per core} uvicorn worker processes.
#
# Every worker loads the same index folder (read-only for them: only a stale index is rebuilt, by one
# worker at a time under a lock) and follows new generations on its own within PRIVACY_CHECK_EVERY_S.
# Other settings (PRIVACY_CORS_ORIGINS, PRIVACY_RATE_LIMIT, PRIVACY_POLICIES, PRIVACY_CONTACT, …): api/config.py.
#   PORT=9000 WORKERS=4 PRIVACY_CORS_ORIGINS=https://ajutor.exemplu.ro bash scripts/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Build now if needed, so no worker starts on a stale index and the first question is answered at once.
.venv/bin/python -m retrieval build --if-needed \
  --index "${PRIVACY_INDEX_DIR:-index}" --corpus "${PRIVACY_CORPUS_DIR:-corpus}"
exec .venv/bin/python -m uvicorn api.app:create_app --factory \
  --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --workers "${WORKERS:-$(nproc)}" \
  --no-access-log --timeout-graceful-shutdown 10 "$@"
