# The same service as `make run`: uvicorn + a local Ray (or RAY_ADDRESS), SQLite under
# /data by default, PostgreSQL when MODERATION_DATABASE_URL names one. The same image runs
# a Ray head or worker node (`ray start ...`): see deploy/ and docs/DEPLOY.md.
#
# Two stages: the builder has a C++ compiler because pdqhash ships only as source. It
# builds a wheel of every dependency, then installs those wheels, and nothing else, into
# /opt/venv; the final stage takes that virtualenv alone, so no compiler, header, wheel or
# build cache is left in the image. (Not a `RUN --mount=from=builder` install: buildah
# fails it when the builder stage comes from its cache, and reuses the layer when the
# builder has changed.) `make image` builds it; ../shared/tools/oci-smoke builds and
# checks it with buildah.

FROM python:3.11-slim AS builder

RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY pyproject.toml ./
# The runtime dependencies of pyproject.toml, one per line; only that file is copied, so
# a code change keeps this stage (and the wheels) cached.
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" \
      > requirements.txt \
 && pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links=/wheels -r requirements.txt


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MODERATION_DATA_DIR=/data \
    RAY_USAGE_STATS_ENABLED=0

RUN useradd --create-home --uid 10001 moderation && mkdir /data && chown moderation /data
WORKDIR /app

# Dependencies first, in their own layer: code changes do not reinstall them.
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

COPY moderation ./moderation
COPY models ./models
COPY review_ui ./review_ui
# Run from the source tree: models/ and review_ui/ are found beside the package. Compiled
# now because the service user cannot write /app, and every Ray worker imports it.
ENV PYTHONPATH=/app
RUN python -m compileall -q moderation && python -c "import moderation.api.app"

USER moderation
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# uvicorn on create_app(), which is what `moderation serve` runs, called directly: `serve
# --host 0.0.0.0` sets public_url from its host and port over MODERATION_PUBLIC_URL, and
# every status_url would then name http://0.0.0.0:8000.
CMD ["python", "-m", "uvicorn", "--factory", "moderation.api.app:create_app", \
     "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
