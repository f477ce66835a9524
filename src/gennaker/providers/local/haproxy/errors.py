"""Errors the HAProxy manager raises; each message names the problem and the fix."""


class HAProxyError(Exception):
    """HAProxy could not be started, reconfigured or asked; the message says why and what to do."""


class HAProxyNotInstalled(HAProxyError):
    """No usable HAProxy binary; the message says exactly what to install."""
