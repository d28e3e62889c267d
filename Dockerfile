# syntax=docker/dockerfile:1.7
#
# One image for both processes of Simplismart; its first argument picks which one runs:
#
#   docker run IMAGE api         the FastAPI facade on :5002 (python -m simplismart.api)
#   docker run IMAGE operator    the kopf operator (python -m simplismart.operator)
#   docker run IMAGE migrate     bring the API's database schema up to date, then exit
#   docker run IMAGE jwt-secret FILE   write a random JWT signing key to FILE unless it exists
#
# Build: docker build -t simplismart:dev .   (BuildKit, the default builder since Docker 23)
#
# The Python dependencies are the ones pinned in uv.lock, installed by the pinned uv into a
# virtual environment in a build stage; the runtime stage gets only that environment, runs as an
# unprivileged user, and works with a read-only root file system (only /tmp and the data
# directory need to be writable).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/simplismart
RUN pip install "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3
# Then the project itself, as an ordinary (non-editable) install of its four packages.
COPY scheduler/ scheduler/
COPY crds/ crds/
COPY operator/ operator/
COPY api/ api/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --python /usr/local/bin/python3 \
 && /opt/simplismart/bin/python -c "import simplismart.api.app, simplismart.operator.handlers"

FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
LABEL org.opencontainers.image.title="simplismart" \
      org.opencontainers.image.description="Simplismart deployment-queue control plane: API and operator" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid "${UID}" simplismart \
 && useradd --system --uid "${UID}" --gid simplismart --home-dir /var/lib/simplismart \
      --shell /usr/sbin/nologin simplismart \
 && install -d -o simplismart -g simplismart -m 0750 \
      /var/lib/simplismart /var/lib/simplismart/data /var/lib/simplismart/secrets
COPY --from=build /opt/simplismart /opt/simplismart
COPY --chmod=0755 <<'EOF' /usr/local/bin/simplismart
#!/bin/sh
# Entry point of the image: the first argument picks the process.
set -eu
python=/opt/simplismart/bin/python
command=${1:-api}
[ "$#" -gt 0 ] && shift
case "$command" in
  api) exec "$python" -m simplismart.api serve "$@" ;;
  operator) exec "$python" -m simplismart.operator "$@" ;;
  migrate) exec "$python" -m simplismart.api migrate "$@" ;;
  jwt-secret)
    # jwt-secret FILE: a random signing key, made once; an existing key is kept.
    file=${1:?usage: simplismart jwt-secret FILE}
    if [ -s "$file" ]; then
      echo "simplismart: keeping the JWT secret in $file"
      exit 0
    fi
    umask 077
    "$python" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$file.tmp"
    mv "$file.tmp" "$file"
    echo "simplismart: wrote a new JWT secret to $file"
    ;;
  healthcheck) exec "$python" /usr/local/lib/simplismart/healthcheck.py ;;
  -h | --help | help)
    echo "usage: simplismart {api|operator|migrate|jwt-secret FILE|healthcheck} [ARGS...]"
    ;;
  *) exec "$command" "$@" ;;
esac
EOF
COPY --chmod=0644 <<'EOF' /usr/local/lib/simplismart/healthcheck.py
"""The image's HEALTHCHECK: asks the running process its own health endpoint.

The process is PID 1 (the entry point execs it), or PID 1's child under an init such as
``docker run --init``; SIMPLISMART_HEALTHCHECK_PID names another one.
"""

import os
import sys
import urllib.request
from pathlib import Path


def role(pid: str) -> str | None:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    for index, word in enumerate(words):
        if word in ("simplismart.api", "simplismart.operator"):
            rest = words[index + 1 :]
            return "migrate" if "migrate" in rest else word.split(".")[1]
        if word.endswith("simplismart") and index + 1 < len(words):
            return words[index + 1] or None
    return None


def main() -> int:
    pid = os.environ.get("SIMPLISMART_HEALTHCHECK_PID") or "1"
    found = role(pid)
    if found is None:  # an init process: look at its children
        children = Path(f"/proc/{pid}/task/{pid}/children")
        for child in children.read_text().split() if children.exists() else []:
            found = found or role(child)
    if found == "api":
        port = os.environ.get("SIMPLISMART_API_PORT") or "5002"
    elif found == "operator":
        port = os.environ.get("SIMPLISMART_HEALTH_PORT") or "8080"
    else:
        return 0  # a one-shot command: nothing to probe
    if port == "0":
        return 0  # the probe endpoint is turned off
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as reply:
            return 0 if reply.status == 200 else 1
    except OSError as error:
        print(f"unhealthy: {found} on port {port}: {error}", file=sys.stderr)
        return 1


sys.exit(main())
EOF
ENV PATH=/opt/simplismart/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONSAFEPATH=1 \
    SIMPLISMART_STATE_DIR=/var/lib/simplismart/data \
    SIMPLISMART_DATABASE_URL=sqlite:////var/lib/simplismart/data/simplismart.db
WORKDIR /var/lib/simplismart
USER ${UID}:${UID}
EXPOSE 5002 8080 9090
# By absolute path: on PATH, /opt/simplismart/bin/simplismart is the command-line client.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/simplismart", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/simplismart"]
CMD ["api"]
