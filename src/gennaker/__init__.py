"""Gennaker: continuous delivery with Spinnaker's model."""

__version__ = "0.1.0"
