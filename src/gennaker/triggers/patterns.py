"""Regexes from trigger configs (``payloadConstraints``, a git trigger's ``branch``), run safely.

They are Java regexes in Spinnaker (Echo matches them with ``java.util.regex``), and they run on
text that anyone who can reach ``/webhooks`` sends. Python's ``re`` cannot be interrupted, so
they go through the expression language's guard: a pattern is run on a text only when a
pessimistic bound on its backtracking stays under the limit (``^(a+)+$`` on 26 characters does
not), else the constraint counts as unmet with a message saying why.
"""

from __future__ import annotations

from gennaker.expressions.errors import ExpressionError
from gennaker.expressions.jregex import compile_java
from gennaker.expressions.limits import DEFAULT_LIMITS


class PatternRefused(ValueError):
    """The pattern is invalid, or too costly to run on this text; the message says which."""


def matches(pattern: str, text: str, *, whole: bool) -> bool:
    """Whether ``pattern`` matches all of ``text`` (``whole``) or somewhere in it."""
    try:
        compiled = compile_java(DEFAULT_LIMITS, pattern)
        compiled.admit(DEFAULT_LIMITS, text, search=not whole)
    except ExpressionError as exc:
        raise PatternRefused(exc.message) from None
    found = compiled.regex.fullmatch(text) if whole else compiled.regex.search(text)
    return found is not None
