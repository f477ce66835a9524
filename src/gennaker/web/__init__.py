"""Gennaker's web UI (Deck's job), served by the API role at ``/ui/``.

Pages are rendered on the server from the store (Jinja2 templates), so they read without
JavaScript; one small script of our own adds live updates (the ``/events/stream`` Server-Sent
Events), the forms' requests to the Gate API and the pipeline editor. Nothing here is imported by
the engine.
"""
