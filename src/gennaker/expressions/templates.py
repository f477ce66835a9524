"""Template strings (``"v${a}-${b}"``) and the walk over a whole object that Orca does on every
stage context: evaluation, failure summaries, and type preservation for a lone ``${...}``."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gennaker.expressions.compiler import CompiledExpression, compile_expression
from gennaker.expressions.context import EvaluationContext
from gennaker.expressions.errors import ExpressionError, LimitExceeded
from gennaker.expressions.jformat import convert_to_string, to_java_string
from gennaker.expressions.limits import DEFAULT_LIMITS, Env
from gennaker.expressions.objects import NotEvaluable, is_sequence, to_plain
from gennaker.expressions.summary import ERROR, INFO, SummaryBuilder

TEMPLATE_PARSE = "org.springframework.expression.ParseException"
_OPEN = {"}": "{", "]": "[", ")": "("}
_SIMPLE = re.compile(r"\$\{(.*)}")


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and compiled ``${...}`` parts, in order."""

    parts: tuple[str | CompiledExpression, ...]
    # The expression when the template is exactly one ``${...}`` (its type is kept).
    single: CompiledExpression | None = field(init=False)
    # The summary key: the text with each ``${...}`` replaced by its bare expression.
    key: str = field(init=False)

    def __post_init__(self) -> None:
        only = self.parts[0] if len(self.parts) == 1 else None
        object.__setattr__(self, "single", only if isinstance(only, CompiledExpression) else None)
        object.__setattr__(self, "key", "".join(p if isinstance(p, str) else p.text for p in self.parts))


def _template_error(message: str) -> ExpressionError:
    return ExpressionError(message, TEMPLATE_PARSE)


def _end_of_expression(text: str, start: int) -> int:
    """Index of the ``}`` closing the expression that starts at ``start`` (Spring's rules:
    brackets nest, quoted strings are skipped), or -1 when there is none."""
    if text.find("}", start) < 0:
        return -1
    stack: list[tuple[str, int]] = []
    pos = start
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == "}" and not stack:
            return pos
        if ch in "{[(":
            stack.append((ch, pos))
        elif ch in "}])":
            if not stack:
                raise _template_error(
                    f"Found closing '{ch}' at position {pos} without an opening '{_OPEN[ch]}'"
                )
            opening, at = stack.pop()
            if opening != _OPEN[ch]:
                raise _template_error(
                    f"Found closing '{ch}' at position {pos} but most recent opening is '{opening}' at position {at}"
                )
        elif ch in "'\"":
            end = text.find(ch, pos + 1)
            if end < 0:
                raise _template_error(f"Found non terminating string literal starting at position {pos}")
            pos = end
        pos += 1
    if stack:
        opening, at = stack.pop()
        closing = {v: k for k, v in _OPEN.items()}[opening]
        raise _template_error(f"Missing closing '{closing}' for '{opening}' at position {at}")
    return -1


@functools.lru_cache(maxsize=4096)
def _compile_template(text: str, max_length: int, max_depth: int) -> Template:
    parts: list[str | CompiledExpression] = []
    start = 0
    while start < len(text):
        prefix = text.find("${", start)
        if prefix < 0:
            parts.append(text[start:])
            break
        if prefix > start:
            parts.append(text[start:prefix])
        end = _end_of_expression(text, prefix + 2)
        if end < 0:
            raise _template_error(
                f"No ending suffix '}}' for expression starting at character {prefix}: {text[prefix:][:200]}"
            )
        inner = text[prefix + 2 : end].strip()
        if not inner:
            raise _template_error(f"No expression defined within delimiter '${{}}' at character {prefix}")
        parts.append(compile_expression(inner, max_length=max_length, max_depth=max_depth))
        start = end + 1
    return Template(tuple(parts))


# The length limit applies to each ``${...}`` on its own, as Spring checks each expression it
# extracts from a template (SpelExpressionParser.checkExpressionLength): literal text around the
# expressions does not count (compile_expression enforces it). Long texts are parsed without the
# cache, so it cannot hold thousands of large documents.
_CACHED_TEXT = 65_536


def _template(text: str, max_length: int, max_depth: int) -> Template:
    if len(text) > _CACHED_TEXT:
        return _compile_template.__wrapped__(text, max_length, max_depth)
    return _compile_template(text, max_length, max_depth)


def compile_template(text: str, *, max_length: int = DEFAULT_LIMITS.max_expression_length) -> Template:
    """Parse a template string once (cached by text)."""
    return _template(text, max_length, DEFAULT_LIMITS.max_depth)


def template_for(text: str, ctx: EvaluationContext) -> Template:
    """``compile_template`` with the context's limits."""
    limits = ctx.limits
    return _template(text, limits.max_expression_length, limits.max_depth)


def plain_result(ctx: EvaluationContext, value: Any) -> Any:
    """An evaluation result as plain JSON data (Java-like objects become their stored form)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, NotEvaluable):
        value = value.value
    try:
        return to_plain(value, ctx.limits.max_alloc)
    except ValueError as exc:
        raise LimitExceeded(str(exc)) from exc
    except RecursionError as exc:
        raise LimitExceeded("the result is nested too deeply") from exc


def run(expression: CompiledExpression, ctx: EvaluationContext, root: Mapping[str, Any] | None = None) -> Any:
    """Evaluate one compiled expression against the context (raw value)."""
    return expression.run(Env(ctx, root))


def _escape_simple(source: str) -> str:
    match = _SIMPLE.fullmatch(source)
    return match.group(1).strip() if match else source.replace("$", "")


class Walker:
    """One evaluation pass over an object, recording failures like Orca's ExpressionTransform."""

    def __init__(self, ctx: EvaluationContext, builder: SummaryBuilder) -> None:
        self.ctx = ctx
        self.summary = builder

    def _value(self, template: Template) -> tuple[Any, bool]:
        """(value, whether a part was null) of a parsed template."""
        single = template.single
        if single is not None:
            value = plain_result(self.ctx, run(single, self.ctx))
            return value, value is None
        pieces: list[str] = []
        unresolved = False
        for part in template.parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            piece = run(part, self.ctx)
            if piece is None:
                pieces.append("${" + part.text + "}")
                unresolved = True
            else:
                pieces.append(convert_to_string(piece))
        text = "".join(pieces)
        if len(text) > self.ctx.limits.max_string_length:
            raise LimitExceeded(f"string longer than {self.ctx.limits.max_string_length} characters")
        return text, unresolved

    def string(self, source: str, parent: Mapping[str, Any] | None) -> Any:
        """Evaluate one template string; on failure keep ``source`` and record why."""
        key: str | None = None
        try:
            template = template_for(source, self.ctx)
            key = template.key
            try:
                value, unresolved = self._value(template)
            except RecursionError:
                raise LimitExceeded("a value is nested too deeply") from None
        except ExpressionError as exc:
            key = key if key is not None else _escape_simple(source)
            described = f"Failed to evaluate {self._fields(source, parent)} {exc.message}"
            # Orca strips "$" so a description is never evaluated again; only "${" can start an
            # expression, so a "$" elsewhere (a regex's end anchor) stays.
            self.summary.add(key, ERROR, described.replace("${", "{"), exc.java_type)
            self.summary.attempted(key)
            return source
        if unresolved:
            described = f"Failed to evaluate {self._fields(source, parent)} : {key} not found"
            self.summary.add(key, INFO, described, None)
        self.summary.attempted(key)
        return source if value is None else value

    @staticmethod
    def _fields(source: str, parent: Mapping[str, Any] | None) -> str:
        if parent:
            keys = [str(k) for k, v in parent.items() if _contains(v, source)]
            if keys:
                return "[" + ", ".join(keys) + "]"
        return source

    def walk(self, value: Any, parent: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
        """Evaluate every string containing ``${`` in maps (keys and values) and lists."""
        kind = type(value)
        if kind is str:
            return self.string(value, parent) if "${" in value else value
        if depth > 500:
            return value
        if kind is dict or isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                if type(key) is str and "${" in key:
                    key = to_java_string(self.string(key, value))
                out[key] = self.walk(item, value, depth + 1)
            return out
        if kind is list or kind is tuple or is_sequence(value):
            return [self.walk(item, parent, depth + 1) for item in value]
        if isinstance(value, NotEvaluable):
            return value.value
        return value


def _contains(value: Any, target: str, depth: int = 0) -> bool:
    """Orca's ``getKeys`` test: ``target`` is the value, or a key or value of nested maps."""
    if isinstance(value, str):
        return value == target
    if isinstance(value, Mapping) and depth < 100:
        return any(k == target or _contains(v, target, depth + 1) for k, v in value.items())
    return False
