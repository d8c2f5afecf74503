# The envkit frontend image. Two ways to build it:
#   docker buildx build -t <registry>/envkit/frontend .          (compiles in golang)
#   docker buildx build --target prebuilt --build-context bin=<dir with a static envkit-frontend> -t ... .
# The second packages a binary built on the host with CGO_ENABLED=0 (what the
# integration tests do on machines that cannot pull golang images).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ARG TARGETOS TARGETARCH
RUN --mount=type=bind,target=. \
    --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags=-s -o /out/envkit-frontend ./cmd/envkit-frontend

FROM scratch AS prebuilt
COPY --from=bin envkit-frontend /bin/envkit-frontend
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
ENTRYPOINT ["/bin/envkit-frontend"]

FROM scratch
COPY --from=build /out/envkit-frontend /bin/envkit-frontend
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
ENTRYPOINT ["/bin/envkit-frontend"]
