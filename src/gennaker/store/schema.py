"""Table definitions (SQLAlchemy Core). Migrations under migrations/ create and evolve them.

JSON documents are stored as text (serialised with orjson) in both dialects: Spinnaker's JSON must
round-trip byte-for-byte in meaning, and the engine never queries inside them.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

pipeline_configs = sa.Table(
    "pipeline_configs",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("application", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("name_key", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, server_default="pipeline"),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(255)),
    sa.UniqueConstraint("application", "kind", "name_key", name="uq_pipeline_configs_app_name"),
)

pipeline_config_revisions = sa.Table(
    "pipeline_config_revisions",
    metadata,
    sa.Column("config_id", sa.String(255), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("saved_at", sa.BigInteger, nullable=False),
    sa.Column("saved_by", sa.String(255)),
)

pipeline_templates = sa.Table(
    "pipeline_templates",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("tag", sa.String(64), primary_key=True),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(255)),
)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("application", sa.String(255), nullable=False),
    sa.Column("pipeline_config_id", sa.String(255)),
    sa.Column("name", sa.String(255)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("build_time", sa.BigInteger, nullable=False),
    sa.Column("start_time", sa.BigInteger),
    sa.Column("end_time", sa.BigInteger),
    sa.Column("canceled", sa.Boolean, nullable=False),
    sa.Column("correlation_id", sa.String(255), unique=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("ix_executions_app_time", "application", "type", "build_time"),
    sa.Index("ix_executions_config_time", "pipeline_config_id", "build_time"),
    sa.Index("ix_executions_config_status", "pipeline_config_id", "status", "build_time"),
    sa.Index("ix_executions_status_time", "status", "build_time"),
    sa.Index("ix_executions_time", "build_time"),
)

stages = sa.Table(
    "stages",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "execution_id",
        sa.String(64),
        sa.ForeignKey("executions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("ref_id", sa.String(255)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    # Which save of the execution last wrote this row (its stage rows' highest revision tells a
    # worker's cached copy whether any stage changed since: engine/execution_cache.py).
    sa.Column(
        "revision", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False, server_default="0"
    ),
    sa.Index("ix_stages_execution", "execution_id", "position"),
    sa.Index("ix_stages_revision", "execution_id", "revision"),
)

queue_messages = sa.Table(
    "queue_messages",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("execution_id", sa.String(64)),
    sa.Column("body", sa.Text, nullable=False),
    # When the message may next be delivered: the delivery time while queued, the lease deadline
    # while in flight. An expired lease therefore makes a message deliverable again by itself.
    sa.Column("visible_at", sa.BigInteger, nullable=False),
    sa.Column("lease_token", sa.String(64)),
    # A push of an identical message while this one is in flight: deliver again at this time
    # once the current delivery is acknowledged.
    sa.Column("pending_at", sa.BigInteger),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_queue_messages_visible", "visible_at"),
    sa.Index("ix_queue_messages_execution", "execution_id"),
)

queue_dead_letters = sa.Table(
    "queue_dead_letters",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("execution_id", sa.String(64)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("died_at", sa.BigInteger, nullable=False),
)

# Executions that are NOT_STARTED because a concurrency limit or a lock holds them back
# (Orca's PendingExecutionService). `key` is the pipeline config id or "lock:<name>".
waiting_executions = sa.Table(
    "waiting_executions",
    metadata,
    sa.Column(
        "execution_id", sa.String(64), sa.ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("queued_at", sa.BigInteger, nullable=False),
    sa.Index("ix_waiting_executions_key", "key", "queued_at"),
)

execution_locks = sa.Table(
    "execution_locks",
    metadata,
    sa.Column("name", sa.String(300), primary_key=True),
    sa.Column("execution_id", sa.String(64), nullable=False),
    sa.Column("acquired_at", sa.BigInteger, nullable=False),
    sa.Index("ix_execution_locks_execution", "execution_id"),
)

# Singleton roles (cron firing, registry polling) hold a lease row; whoever holds it acts.
role_leases = sa.Table(
    "role_leases",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)

# Worker processes that are alive: each renews its row while it runs. The leases a worker holds on
# queue messages carry its ``holder`` as the token's prefix, so when a row expires (the process
# died without giving its leases back), any other worker hands those messages out again at once
# instead of waiting for each lease to run out (gennaker.queue.liveness).
worker_liveness = sa.Table(
    "worker_liveness",
    metadata,
    sa.Column("holder", sa.String(32), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("application", sa.String(255)),
    sa.Column("execution_id", sa.String(64)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("ix_events_app_ts", "application", "ts"),
    sa.Index("ix_events_type_ts", "type", "ts"),
    sa.Index("ix_events_execution", "execution_id"),
)

# API tokens (``Authorization: Bearer``): only the sha256 of each token is kept; revoked tokens stay
# listed with their revocation time.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user", sa.String(255), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger),
)

# -- Echo and Igor: triggers, the event outbox, notifications (gennaker.triggers, gennaker.notify) --

# How far a reader of the ``events`` outbox has acted (the dispatcher that starts pipeline-triggered
# pipelines and queues notifications): every event with an id up to ``position`` is done.
event_cursors = sa.Table(
    "event_cursors",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# The last cron tick fired (or deliberately skipped) per trigger; a conditional update of
# ``last_tick`` in the transaction that starts the execution makes every tick fire at most once.
cron_trigger_state = sa.Table(
    "cron_trigger_state",
    metadata,
    sa.Column("config_id", sa.String(255), primary_key=True),
    sa.Column("trigger_id", sa.String(255), primary_key=True),
    sa.Column("last_tick", sa.BigInteger, nullable=False),
    sa.Column("expression", sa.String(255), nullable=False),
    # The error last recorded for this trigger (an unparsable or never-firing expression), so the
    # error event is written once, not on every tick.
    sa.Column("error", sa.Text),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# Docker registry repositories the poller knows: ``next_poll_at`` spreads polls over time and
# processes; a repository is "primed" once its existing tags were recorded without triggering.
docker_repositories = sa.Table(
    "docker_repositories",
    metadata,
    sa.Column("account", sa.String(255), primary_key=True),
    sa.Column("repository", sa.String(255), primary_key=True),
    sa.Column("next_poll_at", sa.BigInteger, nullable=False),
    sa.Column("primed_at", sa.BigInteger),
    sa.Column("last_error", sa.Text),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

docker_tags = sa.Table(
    "docker_tags",
    metadata,
    sa.Column("account", sa.String(255), primary_key=True),
    sa.Column("repository", sa.String(255), primary_key=True),
    sa.Column("tag", sa.String(255), primary_key=True),
    sa.Column("digest", sa.String(100)),
    sa.Column("seen_at", sa.BigInteger, nullable=False),
)

# One notification to send: a row per (event, notification, address), retried with backoff until
# ``status`` is sent or failed. ``dedup_key`` makes queueing idempotent. Secrets are never stored
# here: channels read webhook URLs and SMTP credentials from the settings when they send.
notification_deliveries = sa.Table(
    "notification_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("dedup_key", sa.String(255), nullable=False, unique=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("address", sa.Text),
    sa.Column("application", sa.String(255)),
    sa.Column("execution_id", sa.String(64)),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
)

# -- Kayenta: canary configs, metric set pair lists and canary executions (gennaker.canary) --

canary_configs = sa.Table(
    "canary_configs",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    # The config's applications, as a JSON list (listing filters on them in Python: few configs).
    sa.Column("applications", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# The judge's input: the fetched control and experiment series of one canary run, kept so that a
# judgment can be read again and judged again (``POST /judges/judge``).
canary_metric_set_pair_lists = sa.Table(
    "canary_metric_set_pair_lists",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# One canary run (``/canary``) or standalone analysis (``/standalone_canary_analysis``): its request,
# the config as it was, and the result, in Kayenta's status-response shape.
canary_executions = sa.Table(
    "canary_executions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("application", sa.String(255)),
    sa.Column("config_id", sa.String(255)),
    sa.Column("parent_execution_id", sa.String(64)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_canary_executions_app_time", "application", "kind", "created_at"),
)

# -- Front50's projects and application notifications (gennaker.store.projects, .notifications) --

# A project groups applications, clusters and pipelines for Deck's project dashboard; ``body`` is
# Front50's Project JSON ({id, name, email, config: {applications, clusters, pipelineConfigs},
# createTs, updateTs, lastModifiedBy}). Names are unique regardless of case, as Front50 checks.
projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name_key", sa.String(255), nullable=False, unique=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# Front50's application-level notifications ({application, email: [...], slack: [...], ...}), which
# Orca adds to every pipeline of the application when the pipeline starts and ends.
application_notifications = sa.Table(
    "application_notifications",
    metadata,
    sa.Column("application", sa.String(255), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# Pipelines as code: what each gitops repository manages, its sync state and its sync history.
gitops_managed = sa.Table(
    "gitops_managed",
    metadata,
    sa.Column("repository", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    # "<application>/<pipeline name>" for pipelines, "<template id>:<tag>" for templates.
    sa.Column("key", sa.String(600), primary_key=True),
    sa.Column("config_id", sa.String(255), index=True),
    sa.Column("file", sa.String(1000), nullable=False),
    sa.Column("commit_sha", sa.String(64), nullable=False),
)

gitops_state = sa.Table(
    "gitops_state",
    metadata,
    sa.Column("repository", sa.String(100), primary_key=True),
    sa.Column("requested_at", sa.BigInteger),
    sa.Column("last_attempt_at", sa.BigInteger),
    sa.Column("last_commit", sa.String(64)),
    sa.Column("last_status", sa.String(20)),
)

gitops_syncs = sa.Table(
    "gitops_syncs",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("repository", sa.String(100), nullable=False, index=True),
    sa.Column("commit_sha", sa.String(64)),
    sa.Column("author", sa.String(500)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(100), nullable=False),
    sa.Column("changes", sa.Text, nullable=False),
    sa.Column("errors", sa.Text, nullable=False),
)

gitops_policies = sa.Table(
    "gitops_policies",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("repository", sa.String(100), nullable=False),
    sa.Column("file", sa.String(1000), nullable=False),
    sa.Column("commit_sha", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# Cloud provider operations (Clouddriver's tasks): one row per operation id, written before the
# operation acts, so a repeated request with the same id returns the recorded result instead of
# acting twice, and an operation interrupted by a crash is resumed under the same id.
provider_operations = sa.Table(
    "provider_operations",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("cloud_provider", sa.String(64), nullable=False),
    sa.Column("account", sa.String(255), nullable=False),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Column("application", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# The infrastructure cache: Clouddriver-shaped documents (server groups, load balancers, instances,
# images) written by the providers' caching agents and right after each operation.
infrastructure_cache = sa.Table(
    "infrastructure_cache",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("cloud_provider", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(255), primary_key=True),
    sa.Column("region", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("application", sa.String(255)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_infrastructure_cache_app", "application", "kind"),
)

# The local provider's images: immutable, content-addressed trees under the data directory.
local_images = sa.Table(
    "local_images",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("package", sa.Text, nullable=False),
    sa.Column("version", sa.String(255), nullable=False),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# The local provider's server groups: the desired state (capacity, spec, enabled) of each.
local_server_groups = sa.Table(
    "local_server_groups",
    metadata,
    sa.Column("account", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("region", sa.String(255), nullable=False),
    sa.Column("application", sa.String(255), nullable=False),
    sa.Column("cluster", sa.String(255), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("image_id", sa.String(80), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("capacity", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("operation_id", sa.String(80), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# The local provider's instances: one supervised process each (pid and start time let a restarted
# Gennaker adopt the process still running, and tell it from a later process with the same pid).
local_instances = sa.Table(
    "local_instances",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("account", sa.String(255), nullable=False),
    sa.Column("server_group", sa.String(255), nullable=False),
    sa.Column("slot", sa.Integer, nullable=False),
    sa.Column("port", sa.Integer, nullable=False),
    sa.Column("directory", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer),
    sa.Column("pid_start", sa.BigInteger),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("traffic", sa.String(16), nullable=False),
    sa.Column("health", sa.Text, nullable=False),
    sa.Column("restarts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_start_at", sa.BigInteger),
    sa.Column("last_exit", sa.Text),
    sa.Column("launched_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account", "port", name="uq_local_instances_port"),
    sa.Index("ix_local_instances_group", "account", "server_group"),
)

# The local provider's load balancers: a frontend on a port of the account's HAProxy.
local_load_balancers = sa.Table(
    "local_load_balancers",
    metadata,
    sa.Column("account", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("region", sa.String(255), nullable=False),
    sa.Column("application", sa.String(255), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# -- Fiat: roles that a sign-in brought (an OpenID Connect roles claim), per user and source --

user_roles = sa.Table(
    "user_roles",
    metadata,
    sa.Column("user", sa.String(255), primary_key=True),
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("roles", sa.Text, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)
