# One container: the hub on SQLite (mount /data), or API / workers on PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PASSERELLE_DATABASE_URL=sqlite:////data/passerelle.db \
    PASSERELLE_FLOWS=/app/flows

WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
# The locked versions first (a layer that changes only with the lock), then the hub itself.
RUN pip install --no-cache-dir -r requirements.lock
COPY app ./app
COPY connectors ./connectors
RUN pip install --no-cache-dir --no-deps .
COPY flows ./flows

RUN useradd --system --uid 10001 --home-dir /data passerelle \
    && mkdir -p /data && chown passerelle /data
USER passerelle
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["passerelle", "serve", "--host", "0.0.0.0", "--port", "8000"]
