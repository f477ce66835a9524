"""The composition root: one Services object built at start and passed explicitly everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

import pluggy

from gennaker.clock import Clock, SystemClock
from gennaker.config import Settings
from gennaker.db import Database
from gennaker.engine.evaluation import StageEvaluator
from gennaker.engine.launcher import Launcher
from gennaker.engine.operations import Operations
from gennaker.engine.registry import Registry
from gennaker.plugins import plugin_manager
from gennaker.policies.evaluator import PolicyEngine
from gennaker.policies.settings import policy_settings
from gennaker.policies.stored import StoredPolicies
from gennaker.providers.cache import InfrastructureCache
from gennaker.providers.clouddriver import Clouddriver
from gennaker.providers.operations import OperationLog
from gennaker.providers.registry import ProviderRegistry
from gennaker.queue import open_queue
from gennaker.queue.base import Queue
from gennaker.stages.cloud.port import HasCloudDriver
from gennaker.store import migrate
from gennaker.store.app_notifications import ApplicationNotificationRepository
from gennaker.store.applications import ApplicationRepository
from gennaker.store.executions import ExecutionRepository
from gennaker.store.pipelines import PipelineConfigRepository
from gennaker.store.projects import ProjectRepository
from gennaker.store.templates import PipelineTemplateRepository


@dataclass
class Services:
    """Everything a request, a handler or a task may use."""

    settings: Settings
    clock: Clock
    db: Database
    queue: Queue
    registry: Registry
    plugins: pluggy.PluginManager
    executions: ExecutionRepository
    applications: ApplicationRepository
    pipelines: PipelineConfigRepository
    strategies: PipelineConfigRepository
    templates: PipelineTemplateRepository
    clouddriver: Clouddriver
    evaluator: StageEvaluator = field(init=False)
    launcher: Launcher = field(init=False)
    operations: Operations = field(init=False)
    policies: PolicyEngine = field(init=False)
    projects: ProjectRepository = field(init=False)
    app_notifications: ApplicationNotificationRepository = field(init=False)

    def __post_init__(self) -> None:
        self.projects = ProjectRepository(self.clock)
        self.app_notifications = ApplicationNotificationRepository(self.clock)
        self.evaluator = StageEvaluator(self)
        self.launcher = Launcher(self)
        self.operations = Operations(self)
        # Policies kept in git exist only where gitops repositories are configured.
        stored = StoredPolicies(self.db) if self.settings.gitops.get("repositories") else None
        self.policies = PolicyEngine(policy_settings(self.settings), self.clock, stored)

    def cloud_port(self) -> HasCloudDriver:
        """These services as the cloud stages' port (mypy checks that they provide it)."""
        return self

    def close(self) -> None:
        """Stop the queue's listener and release pooled connections."""
        self.clouddriver.close()
        self.queue.close()
        self.db.dispose()


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    apply_migrations: bool = True,
    plugins: tuple[object, ...] = (),
    load_entry_points: bool = True,
) -> Services:
    """Wire every component from the settings (migrating the database unless told not to)."""
    clock = clock or SystemClock()
    db = Database(
        settings.database.url,
        pool_size=settings.database.pool_size,
        sqlite_synchronous=settings.database.sqlite_synchronous,
    )
    try:
        if apply_migrations:
            migrate.upgrade(db)
        manager = plugin_manager(load_entry_points=load_entry_points, extra=plugins)
        registry = Registry()
        manager.hook.register_stages(registry=registry, settings=settings)
        providers = ProviderRegistry(db, clock, settings.data_dir)
        manager.hook.register_providers(registry=providers, settings=settings)
    except BaseException:
        db.dispose()  # a stage's invalid settings (ConfigError) must not leave connections open
        raise
    for provider in providers:  # stages that name it pass the save-time availability check
        registry.add_cloud_provider(provider.id)
    cache = InfrastructureCache(db, clock)
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        queue=open_queue(db, clock, max_attempts=settings.worker.max_attempts),
        registry=registry,
        plugins=manager,
        executions=ExecutionRepository(db.dialect, verify_writes=settings.engine.verify_writes),
        applications=ApplicationRepository(clock),
        pipelines=PipelineConfigRepository(clock),
        strategies=PipelineConfigRepository(clock, kind="strategy"),
        templates=PipelineTemplateRepository(clock),
        clouddriver=Clouddriver(
            providers,
            cache,
            OperationLog(db, clock, cache, min_capacity_ratio=settings.traffic_guards.min_capacity_ratio),
        ),
    )
