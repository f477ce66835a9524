"""HAProxy for the local provider: one supervised HAProxy per account, reconfigured at runtime."""

from gennaker.providers.local.haproxy.errors import HAProxyError, HAProxyNotInstalled
from gennaker.providers.local.haproxy.manager import HAProxyManager
from gennaker.providers.local.haproxy.specs import FrontendSpec, HealthCheckSpec, ServerSpec, ServerStatus

__all__ = [
    "FrontendSpec",
    "HAProxyError",
    "HAProxyManager",
    "HAProxyNotInstalled",
    "HealthCheckSpec",
    "ServerSpec",
    "ServerStatus",
]
