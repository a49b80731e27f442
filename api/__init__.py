"""HTTP JSON API and embeddable widget over `retrieval.Service` (FastAPI, served by uvicorn).

    uvicorn api.app:create_app --factory --port 8000        # or: bash scripts/serve.sh

A thin shell: the library answers, this package speaks HTTP (validation, JSON
errors in Romanian with stable codes, body size and rate limits, CORS, an
access log that never holds a question) and serves `/widget.js`.
"""
