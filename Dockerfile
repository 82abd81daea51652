# syntax=docker/dockerfile:1
#
# One image holds every CouponPop deployable (api, worker, indexer, batch,
# migrate, ... : every main under cmd/), each at /usr/local/bin/<name>. The
# default entrypoint is the API; each ECS task definition names its binary.
#
#   docker build -t couponpop:dev .
#   docker run --rm couponpop:dev --help
#   docker run --rm --entrypoint /usr/local/bin/migrate couponpop:dev up

# The `go` line of go.mod, exactly (deploy/dockerfile_test.go checks);
# GOTOOLCHAIN=local makes a mismatch fail instead of downloading a toolchain.
ARG GO_VERSION=1.26.8

# The compiler runs natively and cross-compiles for the target platform
# (pure Go, CGO off), so `--platform linux/amd64` is fast on any builder.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 \
    GOFLAGS=-mod=readonly \
    GOTOOLCHAIN=local

# Dependencies first, so editing code does not refetch modules.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/...

# distroless static: CA certificates, tzdata, /etc/passwd with nonroot
# (uid 65532, run as below by number so runtimes can check it is not root);
# no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/api"]
