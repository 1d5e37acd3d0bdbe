# The same service as `make run`: uvicorn + a local Ray (or RAY_ADDRESS), SQLite under
# /data by default, PostgreSQL when MODERATION_DATABASE_URL names one.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MODERATION_DATA_DIR=/data \
    RAY_USAGE_STATS_ENABLED=0

RUN useradd --create-home --uid 10001 moderation && mkdir /data && chown moderation /data
WORKDIR /app

# Dependencies first, in their own layer: code changes do not reinstall them.
COPY pyproject.toml ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN pip install -r /tmp/requirements.txt

COPY moderation ./moderation
COPY models ./models
COPY review_ui ./review_ui
# Run from the source tree: models/ and review_ui/ are found beside the package.
ENV PYTHONPATH=/app
RUN python -c "import moderation.api.app"

USER moderation
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["python", "-m", "moderation.cli", "serve", "--host", "0.0.0.0", "--port", "8000"]
