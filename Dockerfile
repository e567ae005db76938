# syntax=docker/dockerfile:1.7
# One image for every Matchday process; the command picks the role (docs/deployment.md):
#   matchday serve (default) | matchday worker | matchday beat | matchday flower | matchday migrate
# Build: docker build -t matchday:dev .   Checked offline by tests/deploy/test_dockerfile.py
# (hadolint) and tests/deploy/test_image_install.py (the two install scripts, as a non-root user).

ARG PYTHON_VERSION=3.11

# --- build: wheels of Matchday and all its dependencies -----------------------------------
# The full Debian image has gcc and the Python headers, should a dependency ever lack a wheel
# for the target platform; none of it reaches the runtime stage.
FROM python:${PYTHON_VERSION}-bookworm AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY config config
COPY models models
COPY server server
COPY workers workers
COPY deploy/docker/build-wheels.sh /usr/local/bin/build-wheels.sh
RUN build-wheels.sh /src /wheels

# --- runtime --------------------------------------------------------------------------------
# python:3.11-slim-bookworm: glibc, so the manylinux wheels of psycopg-binary, hiredis, bcrypt
# and rapidfuzz install as built (Alpine's musl would need them compiled, and its DNS resolver
# behaves differently); Debian's security updates; no compiler and about 45 MB compressed.
# Distroless has no shell, which the migration Job and an operator's `kubectl exec` want.
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime

ARG UID=10001
ENV VIRTUAL_ENV=/opt/matchday \
    PATH=/opt/matchday/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/var/lib/matchday \
    LOG_FORMAT=json

# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can only check a number.
RUN groupadd --system --gid "${UID}" matchday \
    && useradd --system --uid "${UID}" --gid matchday --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin matchday \
    && install -d -o matchday -g matchday -m 0750 /var/lib/matchday

COPY deploy/docker/install.sh /usr/local/bin/install-matchday.sh
# The wheels are mounted, not copied: no layer of this image holds them. pip, setuptools and
# wheel of the base image go too: nothing installs at run time, and a scanner need not report them.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    install-matchday.sh /wheels /opt/matchday \
    && /usr/local/bin/python -m pip uninstall --yes --quiet pip setuptools wheel \
    && rm /usr/local/bin/install-matchday.sh

USER ${UID}:${UID}
WORKDIR /var/lib/matchday
VOLUME ["/var/lib/matchday"]
EXPOSE 8000

# SIGTERM starts the drain (readiness 503, streams told to reconnect, answers finished) which
# lasts at most DRAIN_SECONDS; give the container longer than that before the SIGKILL:
# compose `stop_grace_period`, Kubernetes `terminationGracePeriodSeconds` (both set).
# Every command handles SIGTERM itself and reaps its own children, so no init is needed.
STOPSIGNAL SIGTERM
# The server's liveness (the worker, beat and flower services set their own or none).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]

ENTRYPOINT ["matchday"]
CMD ["serve"]
