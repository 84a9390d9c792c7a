#!/usr/bin/env bash
# Creates one venv per engine in .venvs/ (their pins conflict: saq[redis] needs redis<8,
# taskiq-redis needs redis>=8), and installs pgbouncer for pooler.py if it is missing.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
for e in saq dbos procrastinate pgqueuer taskiq; do
  [ -x ".venvs/$e/bin/python" ] || "$PY" -m venv ".venvs/$e"
  ".venvs/$e/bin/pip" install -q --disable-pip-version-check -r "requirements/$e.txt"
done
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer
}
