"""Orca's clouddriver stages: deploy, server groups, clusters, load balancers, images."""
