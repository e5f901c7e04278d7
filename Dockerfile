# newsmon: the pipeline and its Prefect deployments (`newsmon serve`).
# Build: docker build -t newsmon .   Run with docker-compose.yml (PostgreSQL + Prefect server).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    MONITOR_DATA_DIR=/data

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(d['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# The code, its migrations and default configuration. Installed in place (-e):
# the package finds migrations/ and config/ next to itself.
COPY alembic.ini ./
COPY migrations ./migrations
COPY config ./config
COPY monitor ./monitor
COPY flows ./flows
COPY tests/fixtures/seeds ./tests/fixtures/seeds
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 1000 newsmon \
    && mkdir -p /data && chown newsmon /data

USER newsmon
VOLUME ["/data"]
EXPOSE 8765

CMD ["newsmon", "serve"]
