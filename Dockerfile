# One image for both processes of Simplismart; its first argument picks which one runs:
#
#   docker run IMAGE api         the FastAPI facade on :5002 (python -m simplismart.api)
#   docker run IMAGE operator    the kopf operator (python -m simplismart.operator)
#   docker run IMAGE migrate     bring the API's database schema up to date, then exit
#   docker run IMAGE jwt-secret FILE   write a random JWT signing key to FILE unless it exists
#
# Build: docker build -t simplismart:dev .   (BuildKit, the default builder since Docker 23)
#    or: make image   (buildah, without Docker or a registry: see hack/image.sh)
#
# The Python dependencies are the ones pinned in uv.lock, installed by the pinned uv into a
# virtual environment in a build stage; the runtime stage gets only that environment, runs as an
# unprivileged user, and works with a read-only root file system (only /tmp and the data
# directory need to be writable).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# The last stage's base: the same image, unless one of the same Python without build tools is
# given (make image passes a base without a package manager).
ARG RUNTIME_IMAGE=${PYTHON_IMAGE}
ARG UV_VERSION=0.13.9

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION
# COMPILE_BYTECODE=1 ships the dependencies' bytecode: each process then starts about 2 s (CPU)
# sooner, and the image is 67 MB larger (a read-only root cannot keep what Python compiles).
ARG COMPILE_BYTECODE=0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=${COMPILE_BYTECODE} \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/simplismart \
    UV_SYSTEM_CERTS=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONSAFEPATH=1
# UV_SYSTEM_CERTS: uv trusts the system's certificate store rather than its built-in roots, so a
# build behind a TLS-inspecting proxy works once the proxy's authority is in that store.
# PYTHONDONTWRITEBYTECODE: the import check below would otherwise leave bytecode behind.
# PYTHONSAFEPATH: the import check below runs in /src, whose operator/ folder would otherwise
# shadow the standard library's operator module.
# uv in a virtual environment of its own: the same on python:3.11-slim and on a Debian base;
# binutils for strip, below.
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install "uv==${UV_VERSION}" \
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
# Then what no process of ours reads leaves the environment: the dependencies' test suites, the
# asyncio copy of the Kubernetes client (kubernetes.aio, two thirds of that package's size; both
# processes use the synchronous client) and the extension modules' symbol tables (strip: 21 MB).
# The libraries that wheels vendor under <package>.libs are left alone: auditwheel's patchelf
# rewrote them, and strip then breaks their load commands (numpy's OpenBLAS no longer loads).
RUN --mount=type=cache,target=/root/.cache/uv \
    /opt/uv/bin/uv sync --frozen --no-dev --no-install-project --python python3 \
 && rm -r /opt/simplismart/lib/python3*/site-packages/kubernetes/aio \
 && find /opt/simplismart/lib/python3*/site-packages -type d -name tests -prune -exec rm -r {} + \
 && find /opt/simplismart/lib/python3*/site-packages -type f -name '*.so*' ! -path '*.libs/*' \
      -exec strip --strip-unneeded {} +
# Then the project itself, as an ordinary (non-editable) install of its four packages.
COPY scheduler/ scheduler/
COPY crds/ crds/
COPY operator/ operator/
COPY api/ api/
RUN --mount=type=cache,target=/root/.cache/uv \
    /opt/uv/bin/uv sync --frozen --no-dev --no-editable --python python3 \
 && /opt/simplismart/bin/python -c "import simplismart.api.app, simplismart.operator.handlers"

FROM ${RUNTIME_IMAGE} AS runtime
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
# The entry point and the HEALTHCHECK script are ordinary files of the repository (docker/).
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/simplismart
COPY --chmod=0644 docker/healthcheck.py /usr/local/lib/simplismart/healthcheck.py
# MALLOC_ARENA_MAX: glibc gives every thread that allocates its own heap (up to 8 per core), and
# both processes allocate from thread pools (the API's request threads, the operator's Kubernetes
# calls); two heaps measured 15-33 MiB less resident memory under load (docs/benchmarks).
ENV PATH=/opt/simplismart/bin:$PATH \
    MALLOC_ARENA_MAX=2 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONSAFEPATH=1 \
    SIMPLISMART_STATE_DIR=/var/lib/simplismart/data \
    SIMPLISMART_DATABASE_URL=sqlite:////var/lib/simplismart/data/simplismart.db
WORKDIR /var/lib/simplismart
USER ${UID}:${UID}
EXPOSE 5002 8080 9090 9091
# By absolute path: on PATH, /opt/simplismart/bin/simplismart is the command-line client.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/simplismart", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/simplismart"]
CMD ["api"]
