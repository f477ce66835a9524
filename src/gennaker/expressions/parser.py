"""Text -> Lark tree with the LALR parser built from ``grammar.lark``; errors carry a position."""

from __future__ import annotations

import functools
from importlib import resources

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.exceptions import LarkError

from gennaker.expressions.errors import ExpressionSyntaxError

_FRIENDLY = {
    "RPAR": "')'",
    "LPAR": "'('",
    "RSQB": "']'",
    "LSQB": "'['",
    "RBRACE": "'}'",
    "LBRACE": "'{'",
    "COLON": "':'",
    "COMMA": "','",
    "DOT": "'.'",
    "QMARK": "'?'",
    "NAME": "a name",
    "$END": "the end",
}


@functools.cache
def _lark() -> Lark:
    grammar = resources.files("gennaker.expressions").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


def _expected(names: set[str] | frozenset[str] | None) -> str:
    if not names:
        return ""
    shown = sorted(_FRIENDLY.get(name, name.lower()) for name in names)
    more = " ..." if len(shown) > 6 else ""
    return "; expected " + ", ".join(shown[:6]) + more


def _end_position(text: str) -> tuple[int, int]:
    """(line, column) just past the last character."""
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def parse(text: str) -> Tree[Token]:
    """Parse one expression (the text between ``${`` and ``}``)."""
    if not text.strip():
        raise ExpressionSyntaxError("EL1042E: No expression defined")
    try:
        return _lark().parse(text)
    except UnexpectedEOF as exc:
        line, column = _end_position(text)
        raise ExpressionSyntaxError(
            "EL1041E: Unexpected end of expression" + _expected(set(exc.expected)), line=line, column=column
        ) from None
    except UnexpectedToken as exc:
        token = exc.token
        expected = _expected(exc.accepts or exc.expected)
        if token.type == "$END":
            line, column = _end_position(text)
            raise ExpressionSyntaxError(
                "EL1041E: Unexpected end of expression" + expected, line=line, column=column
            ) from None
        raise ExpressionSyntaxError(
            f"EL1041E: Unexpected token '{token}'" + expected,
            line=exc.line if exc.line > 0 else 1,
            column=exc.column if exc.column > 0 else 1,
        ) from None
    except UnexpectedCharacters as exc:
        pos = exc.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        raise ExpressionSyntaxError(
            f"EL1065E: Unexpected character '{char}'", line=exc.line, column=exc.column
        ) from None
    except UnexpectedInput as exc:
        raise ExpressionSyntaxError(f"EL1041E: {exc}", line=exc.line, column=exc.column) from None
    except (LarkError, RecursionError) as exc:
        raise ExpressionSyntaxError(f"EL1041E: {type(exc).__name__}") from None
