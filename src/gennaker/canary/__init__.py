"""Automated canary analysis (Kayenta's job): the NetflixACAJudge judge, metric sources, canary
configs and results, the Kayenta API's logic and the ``kayentaCanary`` stage.

The engine never imports this package; its stages are registered through ``register_stages`` and its
metric sources through ``register_metric_sources``.
"""
