"""The `local` cloud provider: server groups of supervised processes behind HAProxy."""
