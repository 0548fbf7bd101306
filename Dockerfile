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

# --- mysql-client: MySQL's own dump client, for MySQL servers ------------------
# A MySQL server must be dumped with MySQL's mysqldump: MariaDB's writes the
# values of generated columns (MySQL refuses them on load, ERROR 3105) and
# knows neither MySQL 8's collations nor its GTID handling. Choice: MySQL 8.4
# LTS's client (mysql-community-client-core, the `mysql-8.4-lts` component of
# MySQL's official APT repository for Debian 12 "bookworm"): the supported
# series closest to the 8.0 servers tenants run (8.0 itself reached end of
# life in April 2026). For 5.7 servers (end of life since October 2023) the
# worker adds --column-statistics=0 and --set-gtid-purged=OFF when the
# client's --help lists them; no 5.7 server is reachable to test that. What
# MySQL documents about client and server versions, and what is tested
# here: docs/operations.md, "MySQL servers".
# Its package conflicts with
# mariadb-client over /usr/bin/mysql and /usr/bin/mysqldump, so it is not
# installed into the runtime: its two programs are unpacked here and copied
# to /opt/mysql/bin, which the runtime puts on PATH ahead of /usr/bin.
# The repository's address and signing key are build arguments (the image
# pipeline passes them from MySQL's "A Quick Guide to Using the MySQL APT
# Repository"); the build stops with a message when they are missing.
FROM ${PYTHON_IMAGE} AS mysql-client
ARG MYSQL_APT_REPOSITORY=""
ARG MYSQL_APT_KEY_URL=""
ARG MYSQL_APT_COMPONENT=mysql-8.4-lts
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /tmp/mysql-client
RUN if [ -z "$MYSQL_APT_REPOSITORY" ] || [ -z "$MYSQL_APT_KEY_URL" ]; then \
        echo "set --build-arg MYSQL_APT_REPOSITORY and MYSQL_APT_KEY_URL (docs/operations.md)" >&2; \
        exit 1; \
    fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && curl -fsSL "$MYSQL_APT_KEY_URL" | gpg --dearmor -o /usr/share/keyrings/mysql.gpg \
 && echo "deb [signed-by=/usr/share/keyrings/mysql.gpg] $MYSQL_APT_REPOSITORY bookworm $MYSQL_APT_COMPONENT" \
        > /etc/apt/sources.list.d/mysql.list \
 && apt-get update \
 && apt-get download mysql-community-client-core \
 && dpkg-deb -x mysql-community-client-core_*.deb /opt/mysql-client \
 && test -x /opt/mysql-client/usr/bin/mysqldump \
 && rm -rf /var/lib/apt/lists/*

# --- runtime -------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# What the worker pipes through (docs/architecture.md, "The worker"):
#   mariadb-client  mariadb-dump (MariaDB 10.11's), for MariaDB servers only.
#                   MySQL servers get MySQL's mysqldump from the stage above.
#   (age            the encryption stage of the stream, copied from the age
#                   stage above; compression is in-process, python zstandard:
#                   no zstd binary needed.)
#   graphviz        renders the extraction's ER diagram (docs/extraction.md).
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
COPY --from=mysql-client /opt/mysql-client/usr/bin/mysqldump /opt/mysql-client/usr/bin/mysql /opt/mysql/bin/
# Fails the build when the copied client misses a shared library of the base.
RUN /opt/mysql/bin/mysqldump --version

# A fixed numeric UID/GID (not a name): Kubernetes can verify runAsNonRoot only
# for numeric users. The chart's securityContext uses the same number.
RUN groupadd --system --gid 65532 tenant-exit \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tenant-exit

# The root filesystem is read-only in the cluster: no bytecode writes, and
# scratch space only under /tmp (an emptyDir in the chart and the Job).
# /opt/mysql/bin before /usr/bin: `mysqldump` is MySQL's, `mariadb-dump` MariaDB's;
# the worker checks each client's --version against the server's family anyway.
ENV PATH=/opt/tenant-exit/bin:/opt/mysql/bin:$PATH \
    TENANT_EXIT_MYSQL_DUMP_PATH=/opt/mysql/bin/mysqldump \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp

USER 65532:65532
WORKDIR /tmp
# kopf's liveness endpoint; see the chart's probes.
EXPOSE 8080 9090
ENTRYPOINT ["tenant-exit"]
CMD ["operator"]
