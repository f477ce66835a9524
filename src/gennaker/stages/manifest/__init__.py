"""The Kubernetes manifest stages (Orca's ``pipeline/manifest`` and ``tasks/manifest``)."""
