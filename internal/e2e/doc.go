// Package e2e holds runhook's end-to-end tests: the built binaries (server,
// worker, starter) against the real ClickHouse and Temporal servers, driven
// as a user drives them, including the LangSmith JS SDK, outages and
// crashes, and the secrets audit. It has no code of its own.
package e2e
