# syntax=docker/dockerfile:1
#
# ossproxy container image: a static Go binary on distroless, non-root.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t ossproxy .
#   docker run -v $PWD/config.yaml:/etc/ossproxy/config.yaml:ro -p 8080:8080 ossproxy
#
# The build command below is checked by deploy/docker_test.go, which runs it
# (same environment and flags) and verifies the binary is static.

FROM golang:1.26 AS build
WORKDIR /src
# Module downloads are cached in their own layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ossproxy ./cmd/ossproxy

# distroless/static: CA certificates, tzdata, /etc/passwd with nonroot
# (65532); no shell, no package manager, no libc.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ossproxy /ossproxy
USER nonroot:nonroot
# 8080: the proxy listener (as configured); 9090: the admin listener
# (/healthz, /readyz, /metrics), which must listen on 0.0.0.0:9090 for
# kubelet probes and Prometheus to reach it.
EXPOSE 8080 9090
# The image has no curl: the binary queries its own admin listener
# (127.0.0.1:9090, or OSSPROXY_ADMIN_ADDR).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["/ossproxy", "health", "-q"]
ENTRYPOINT ["/ossproxy"]
CMD ["serve", "--config", "/etc/ossproxy/config.yaml"]
