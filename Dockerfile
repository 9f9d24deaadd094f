# livecart: one image for `livecart run`, `livecart worker` and `livecart db upgrade`.
#   docker build -t livecart .
# Installs exactly the pinned versions of requirements.lock, then livecart itself without deps.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LIVECART_HTTP_HOST=0.0.0.0 \
    LIVECART_HTTP_PORT=8080 \
    LIVECART_LOG_FORMAT=json

RUN useradd --system --create-home --home-dir /app --shell /usr/sbin/nologin livecart
WORKDIR /app

# dependencies first: this layer is rebuilt only when the lock changes
COPY requirements.lock ./
RUN python -m venv /app/.venv \
    && /app/.venv/bin/pip install --upgrade "pip>=24" \
    && /app/.venv/bin/pip install -r requirements.lock

COPY pyproject.toml README.md babel.cfg ./
COPY catalog ./catalog
COPY bot ./bot
COPY webhook ./webhook
COPY livecart ./livecart
COPY locales ./locales
RUN /app/.venv/bin/pip install --no-deps --no-build-isolation -e . \
    && /app/.venv/bin/pybabel compile -d locales -D messages -f \
    && chown -R livecart:livecart /app

USER livecart
ENV PATH=/app/.venv/bin:$PATH
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LIVECART_HTTP_PORT', '8080'), timeout=2)"
CMD ["livecart", "run"]
