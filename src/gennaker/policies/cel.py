"""The built-in engine: CEL (the Common Expression Language, as Kubernetes admission policies use
it) through cel-python. A rule is compiled once when the settings load; it sees ``input`` (the
scope's document) and ``now`` (the injected clock's time, a timestamp) and must be true when the
input complies."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from gennaker.config import ConfigError


class CelRule:
    """One compiled CEL rule."""

    def __init__(self, name: str, source: str) -> None:
        try:
            import celpy
            from celpy.celparser import CELParseError
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ConfigError("CEL policies need the cel-python package (pip install cel-python)") from exc
        self.name = name
        self._celpy = celpy
        environment = celpy.Environment()
        try:
            self._program = environment.program(environment.compile(source))
        except CELParseError as exc:
            raise ConfigError(f"policy {name}: its rule is not valid CEL: {exc}") from None

    def holds(self, document: Mapping[str, Any], now_ms: int) -> tuple[bool | None, str | None]:
        """(True/False, None) as the rule evaluates; (None, why) when it cannot be evaluated."""
        celpy = self._celpy
        now = datetime.datetime.fromtimestamp(now_ms / 1000, tz=datetime.UTC)
        try:
            result = self._program.evaluate(
                {"input": celpy.json_to_cel(dict(document)), "now": celpy.celtypes.TimestampType(now)}
            )
        except celpy.CELEvalError as exc:
            return None, str(exc.args[0] if exc.args else exc)
        if isinstance(result, celpy.CELEvalError):
            return None, str(result.args[0] if result.args else result)
        if isinstance(result, celpy.celtypes.BoolType):
            return bool(result), None
        return None, f"the rule gave {type(result).__name__}, not a bool"
