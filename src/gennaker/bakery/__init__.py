"""The bakery (Rosco): rendering manifests from templates (Helm charts, Kustomize overlays)."""
