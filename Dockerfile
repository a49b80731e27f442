# The HTTP API and widget, as one replica. The index is NOT in the image: it is built once
# (the `build-index` service of compose.yaml) into a volume that every replica mounts read-only.
#   docker build -t privacy-qa-api .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The runtime and the API only (no Streamlit, no torch), at the versions requirements.txt pins.
COPY requirements.txt pyproject.toml README.md ./
COPY retrieval/ retrieval/
COPY webapp/ webapp/
COPY api/ api/
RUN pip install -c requirements.txt ".[api]" uvloop httptools \
 && useradd --uid 10001 --no-create-home app \
 && mkdir /index && chown app /index   # a new named volume takes this owner: the builder can write it

COPY corpus/ /corpus/
USER app

# A replica never builds: it serves /index and follows the generations the builder publishes.
ENV PRIVACY_INDEX_DIR=/index \
    PRIVACY_READ_ONLY=1 \
    FORWARDED_ALLOW_IPS=* \
    WORKERS=2
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v1/health', timeout=3)"
CMD ["sh", "-c", "exec uvicorn api.app:create_app --factory --host 0.0.0.0 --port 8000 --workers \"$WORKERS\" --no-access-log"]
