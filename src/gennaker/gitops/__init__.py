"""Pipelines as code: pipeline configs and templates kept in git repositories and synced into
Gennaker, all of a commit or nothing. See docs/gitops.md."""
