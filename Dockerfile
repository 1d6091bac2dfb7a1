# One image with every binary: `worker` (the default), `server` and `starter`.
# The builder's Go matches go.mod's go directive; GOTOOLCHAIN=local makes a
# mismatch fail the build instead of silently downloading another toolchain.
FROM golang:1.26.8-trixie AS build
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
WORKDIR /src
# Dependencies first, so editing code does not refetch modules.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/worker ./worker && \
    go build -trimpath -ldflags="-s -w" -o /out/starter ./starter && \
    go build -trimpath -ldflags="-s -w" -o /out/server ./server

# Slim Debian rather than distroless: a shell helps with `docker compose exec`,
# and a point release tag is an exact pin.
FROM debian:13.6-slim
# Webhooks go out over HTTPS; the slim image has no CA bundle of its own.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/worker /out/starter /out/server /usr/local/bin/
RUN useradd --system --user-group --uid 10001 --no-create-home --shell /usr/sbin/nologin runhook
# runhook.yaml is read from the working directory, so a mounted one goes here.
WORKDIR /etc/runhook
USER 10001:10001
CMD ["worker"]
