"""The ``gennaker`` command: the server processes (up, api, worker, scheduler, db, token, user) and a
spin-compatible client of the API (application, pipeline, execution)."""
