// Package deploy holds no code. Beside it are the files that run runhook's
// observability under Docker Compose: Prometheus's config, Grafana's
// provisioning and the runhook dashboard. No Docker engine runs the tests, so
// they hold those files to what running them needs: every query names a metric
// the worker really serves, and every path and uid one file names is where
// another file or mount puts it.
package deploy
