// Package grafana holds no code: its directories are the Grafana
// provisioning of the compose stack (docker-compose.yml), a Prometheus data
// source and the dangol dashboard over the metrics of ops/metrics and api.
// Its test holds every query of the dashboard to the metrics and labels
// that `dangol serve` registers.
package grafana
