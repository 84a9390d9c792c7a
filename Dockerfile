# Bandstand's production image: the locked dependencies and the code, run as a user that can't
# change either. How to run it and what to set: docs/deploy/docker.md; on a PaaS: docs/deploy/.
#   docker build -t bandstand .
#   docker run -p 8000:8000 -e SECRET_KEY=… -e DATABASE_URL=postgresql://… bandstand
# tests/deploy/test_dockerfile.py runs this file's steps without Docker: keep paths in ENV.
ARG PYTHON_VERSION=3.11

# --- build: a virtual environment from the lock file, and the code, compiled ------------------
FROM python:${PYTHON_VERSION}-slim AS build

ENV VIRTUAL_ENV=/opt/venv
WORKDIR /app

# The lock alone first, so that a code change doesn't reinstall the dependencies.
COPY requirements/lock.txt requirements/lock.txt
# Every file is checked against the lock's hashes, and --no-deps installs nothing the lock doesn't
# list. Wheels only: the slim image has no compiler, and a missing wheel should fail here, plainly.
RUN python -m venv "$VIRTUAL_ENV" \
    && "$VIRTUAL_ENV/bin/pip" install --no-cache-dir --disable-pip-version-check \
        --require-hashes --no-deps --only-binary=:all: -r requirements/lock.txt

COPY . .
# The app user can't write __pycache__ into root-owned code, so compile now; checked-hash files
# stay valid whatever modification times the copy into the final stage gives the sources.
RUN python -m compileall -q --invalidation-mode checked-hash .

# --- the image: Python, the virtual environment and the code, nothing else --------------------
FROM python:${PYTHON_VERSION}-slim

# A fixed numeric id: Kubernetes' runAsNonRoot and volume permissions go by the number. /data is
# where a volume goes for SQLite or uploaded files (docs/deploy/docker.md); Docker gives a new
# named volume the folder's owner.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
    && install --directory --owner=app --group=app --mode=0700 /data

# A container's disk is thrown away with it: uploads go to the database unless told otherwise.
ENV ENVIRONMENT=production \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH="/opt/venv/bin:$PATH" \
    STORAGE_BACKEND=database

WORKDIR /app
# Copied as root and left so: the app user reads and runs the code but can't change it.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app

USER 10001:10001
EXPOSE 8000
# Liveness only (/healthz needs no database): a database outage is not a reason to restart.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=4)"]
CMD ["piccolo", "project", "serve"]
