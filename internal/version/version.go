// Package version names the build; `make build` sets Version from git.
package version

// Version is overridden at link time: -ldflags "-X github.com/runhook/runhook/internal/version.Version=...".
var Version = "dev"
