"""The REST API (Gate's paths and JSON shapes), an ASGI app built from the Services object."""
