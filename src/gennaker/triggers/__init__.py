"""Triggers (Echo's and Igor's jobs): webhooks, git pushes, cron, Docker registry tags and pipeline
completion start pipelines; ``scheduler.run_scheduler`` runs the singleton roles (cron, registry
polling, the event outbox dispatcher, notification sending).
"""
