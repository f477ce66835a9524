"""The ``kubernetes`` cloud provider: manifests applied with kubectl, as Clouddriver does."""
