"""Metric sources: where a canary's series come from (Kayenta's MetricsService implementations)."""
