# syntax=docker/dockerfile:1
# One image for the operator (`tenant-exit operator`) and the backup Job
# (`tenant-exit worker backup`): the Job runs the operator's own image, so the
# two can never disagree about the manifest format or the tool versions.
#
# Base: Debian 12 (bookworm) slim with CPython 3.11, pinned by tag. Pin it by
# digest too in the pipeline that builds and signs the image
# (python:3.11.13-slim-bookworm@sha256:...), so a rebuild is byte-for-byte the
# same base; tests/unit/test_dockerfile.py accepts both forms.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
# age from its Go module: Debian bookworm's age 1.1.1 lacks the hybrid
# post-quantum recipients (age1pq1..., `age-keygen -pq`) of age 1.3. The same
# version as the test harness (tests/localcluster/versions.env, AGE_VERSION).
ARG GO_IMAGE=golang:1.26.8-bookworm
ARG AGE_VERSION=v1.3.2

# --- build: a self-contained virtualenv with the package and its wheels --------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/tenant-exit
COPY pyproject.toml ./
COPY operator ./operator
# A non-editable install: the runtime stage copies only /opt/tenant-exit.
RUN /opt/tenant-exit/bin/pip install --no-compile ./

# --- age: the encryption stage, built from filippo.io/age ------------------------
FROM ${GO_IMAGE} AS age
ARG AGE_VERSION
ENV CGO_ENABLED=0 \
    GOTOOLCHAIN=local
RUN GOBIN=/out go install -trimpath -ldflags "-s -w" \
        "filippo.io/age/cmd/age@${AGE_VERSION}" "filippo.io/age/cmd/age-keygen@${AGE_VERSION}"

# --- runtime -------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# What the worker pipes through (ARCHITECTURE.md §4):
#   mariadb-client  mysqldump (MariaDB 10.11's). It dumps MySQL 5.7 and 8.0
#                   servers and MariaDB; the SQL it writes is the server's own
#                   SHOW CREATE output, i.e. the server's dialect. Caveats in
#                   docs/operations.md ("mysqldump and MySQL servers").
#   (age            the encryption stage of the stream, copied from the age
#                   stage above; compression is in-process, python zstandard:
#                   no zstd binary needed.)
#   tar             GNU tar for the documents archive (in the base already;
#                   listed so a slimmer base cannot drop it silently).
#   ca-certificates TLS to S3 endpoints and the Kubernetes API.
#   graphviz        `dot`, which renders the extraction's ER diagram offline.
# Versions are not pinned: Debian stable only ships security and point-release
# updates, and a pinned version disappears from the archive when they land.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        mariadb-client \
        tar \
        ca-certificates \
        graphviz \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /opt/tenant-exit /opt/tenant-exit
COPY --from=age /out/age /out/age-keygen /usr/local/bin/

# A fixed numeric UID/GID (not a name): Kubernetes can verify runAsNonRoot only
# for numeric users. The chart's securityContext uses the same number.
RUN groupadd --system --gid 65532 tenant-exit \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tenant-exit

# The root filesystem is read-only in the cluster: no bytecode writes, and
# scratch space only under /tmp (an emptyDir in the chart and the Job).
ENV PATH=/opt/tenant-exit/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp

USER 65532:65532
WORKDIR /tmp
# kopf's liveness endpoint; see the chart's probes.
EXPOSE 8080 9090
ENTRYPOINT ["tenant-exit"]
CMD ["operator"]
