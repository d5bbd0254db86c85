"""openlora.observability: Prometheus exporter over run folders, Grafana annotations, dashboards' data."""
