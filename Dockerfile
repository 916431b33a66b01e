# syncd's container image: a static binary on distroless, run as a non-root user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t syncd .
#
# The binary is built by scripts/build-static.sh, the script behind `make build-static`,
# which CI builds and runs as nobody from a read-only directory (`make check-static`):
# no cgo, -trimpath, the version stamped. The image holds nothing else, so the pod can
# run with a read-only root filesystem (deploy/ sets readOnlyRootFilesystem); syncd
# writes only to its PostgreSQL store. deploy/test checks these properties.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so a change to the code reuses the downloaded dependencies.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0
RUN VERSION=${VERSION} ./scripts/build-static.sh /out ./cmd/syncd

# distroless/static: CA certificates (syncd calls Salesforce over TLS), tzdata and
# /etc/passwd, no shell and no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/syncd /usr/local/bin/syncd
# 65532 is distroless's "nonroot"; numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/syncd"]
# The configuration is mounted here (deploy/ mounts its ConfigMap); SYNCD_CONFIG
# also lets `kubectl exec ... syncd explain KEY` find it without --config.
ENV SYNCD_CONFIG=/etc/syncd/config/syncd.yaml
CMD ["run"]
