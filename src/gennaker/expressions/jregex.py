"""Java regular expressions on Python's ``re``: syntax conversion and a backtracking guard.

Python's ``re`` cannot be interrupted, so a pattern is admitted for an input only when a
pessimistic bound on its backtracking stays under ``Limits.max_regex_cost``: an input of n
characters costs ``n ** k`` for k unbounded quantifiers (one more for searches), times ``2 ** n``
when a repeated group holds another quantifier or an alternation that could match the same text
more than one way (``(a+)+``, ``(a|a)*``). Repeated groups that start with a literal character no
inner quantifier can match (``(-[a-z0-9]+)*``) are recognised as safe.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from gennaker.expressions.errors import PATTERN_SYNTAX, ExpressionError, LimitExceeded
from gennaker.expressions.limits import Env, Limits

_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
    "javaLowerCase": "a-z",
    "javaUpperCase": "A-Z",
    "javaWhitespace": " \\t\\n\\x0b\\f\\r\\x1c-\\x1f",
}
_UNICODE = {
    "L": "(?u:[^\\W\\d_])",
    "IsAlphabetic": "(?u:[^\\W\\d_])",
    "IsLetter": "(?u:[^\\W\\d_])",
    "N": "(?u:\\d)",
    "Nd": "(?u:\\d)",
    "IsDigit": "(?u:\\d)",
    "IsWhite_Space": "(?u:\\s)",
}
_NEG_UNICODE = {
    "L": "(?u:[\\W\\d_])",
    "IsAlphabetic": "(?u:[\\W\\d_])",
    "IsLetter": "(?u:[\\W\\d_])",
    "N": "(?u:\\D)",
    "Nd": "(?u:\\D)",
    "IsDigit": "(?u:\\D)",
    "IsWhite_Space": "(?u:\\S)",
}
_SIMPLE_ESCAPES = {
    "h": "[ \\t\\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000]",
    "H": "[^ \\t\\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000]",
    "v": "[\\n\\x0b\\f\\r\\x85\\u2028\\u2029]",
    "V": "[^\\n\\x0b\\f\\r\\x85\\u2028\\u2029]",
    "R": "(?:\\r\\n|[\\n\\x0b\\f\\r\\x85\\u2028\\u2029])",
    "z": "\\Z",
    "Z": "(?=\\n?\\Z)",
    "e": "\\x1b",
}
_CLASS_ESCAPES = {"h": _SIMPLE_ESCAPES["h"][1:-1], "v": _SIMPLE_ESCAPES["v"][1:-1], "e": "\\x1b"}


def _syntax(message: str, pattern: str) -> ExpressionError:
    return ExpressionError(f"{message} in regex '{pattern}'", PATTERN_SYNTAX)


@dataclass
class _Group:
    quantified: list[str] = field(default_factory=list)  # regex text of inner quantified atoms
    alternation: bool = False
    risky: bool = False  # holds a construct that may backtrack exponentially
    first_literal: str | None = None
    items: int = 0
    start: int = 0  # offset of this group's body in the output


@dataclass(frozen=True)
class JavaPattern:
    """A converted, compiled pattern and what its backtracking could cost."""

    regex: re.Pattern[str]
    unbounded: int
    exponential: bool

    def check(self, env: Env, text: str, *, search: bool) -> None:
        """Refuse to run on ``text`` when the pessimistic cost bound is too high."""
        self.admit(env.limits, text, search=search)

    def admit(self, limits: Limits, text: str, *, search: bool) -> None:
        """``check`` for callers outside an evaluation (trigger constraints)."""
        n = len(text)
        if n > limits.max_regex_input:
            raise LimitExceeded(f"regex input longer than {limits.max_regex_input} characters")
        cost = float(max(n, 1)) ** (self.unbounded + (1 if search else 0))
        if self.exponential:
            cost *= 2.0 ** min(n, 1000)
        if cost > limits.max_regex_cost:
            raise LimitExceeded(
                f"regex '{self.regex.pattern}' could backtrack too long on {n} characters "
                "(simplify nested or repeated quantifiers)"
            )


def _read_braced(pattern: str, i: int) -> tuple[str, int]:
    end = pattern.find("}", i)
    if end < 0:
        raise _syntax("Unclosed '{'", pattern)
    return pattern[i + 1 : end], end + 1


def _property(pattern: str, i: int, negated: bool, in_class: bool) -> tuple[str, int]:
    """Convert ``\\p{Name}`` / ``\\pL`` starting after the ``p``; return (text, next index)."""
    if i < len(pattern) and pattern[i] == "{":
        name, i = _read_braced(pattern, i)
    elif i < len(pattern):
        name, i = pattern[i], i + 1
    else:
        raise _syntax("Incomplete \\p", pattern)
    name = name[2:] if name.startswith("Is") and name[2:] in _POSIX else name
    if name in _POSIX:
        body = _POSIX[name]
        if in_class:
            if negated:
                raise _syntax(f"\\P{{{name}}} inside a character class is not supported", pattern)
            return body, i
        return ("[^" if negated else "[") + body + "]", i
    if name in _UNICODE and not in_class:
        return (_NEG_UNICODE if negated else _UNICODE)[name], i
    raise _syntax(f"Unsupported character property '{name}'", pattern)


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int, str | None]:
    """Convert the escape at ``pattern[i] == '\\\\'``; return (text, next index, literal char)."""
    if i + 1 >= len(pattern):
        raise _syntax("Unexpected internal error (trailing backslash)", pattern)
    c = pattern[i + 1]
    j = i + 2
    if c == "Q":
        end = pattern.find("\\E", j)
        quoted = pattern[j:] if end < 0 else pattern[j:end]
        nxt = len(pattern) if end < 0 else end + 2
        text = "".join("\\" + ch if not ch.isalnum() else ch for ch in quoted)
        return text, nxt, quoted[:1] or None
    if c in "pP":
        text, j = _property(pattern, j, c == "P", in_class)
        return text, j, None
    if in_class and c in _CLASS_ESCAPES:
        return _CLASS_ESCAPES[c], j, None
    if not in_class and c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], j, None
    if c == "k" and j < len(pattern) and pattern[j] == "<":
        end = pattern.find(">", j)
        if end < 0:
            raise _syntax("Unclosed group name", pattern)
        return f"(?P={pattern[j + 1 : end]})", end + 1, None
    if c == "c" and j < len(pattern):
        return f"\\x{ord(pattern[j]) ^ 64:02x}", j + 1, chr(ord(pattern[j]) ^ 64)
    if c == "x" and j < len(pattern) and pattern[j] == "{":
        hexdigits, j = _read_braced(pattern, j)
        try:
            char = chr(int(hexdigits, 16))
        except ValueError as exc:
            raise _syntax("Illegal hexadecimal escape", pattern) from exc
        return f"\\U{ord(char):08x}", j, char
    if c == "0":
        digits = ""
        while j < len(pattern) and len(digits) < 3 and pattern[j] in "01234567":
            digits += pattern[j]
            j += 1
        if not digits:
            raise _syntax("Illegal octal escape sequence", pattern)
        return f"\\x{int(digits, 8):02x}" if int(digits, 8) < 256 else f"\\u{int(digits, 8):04x}", j, None
    if c in "GX":
        raise _syntax(f"\\{c} is not supported", pattern)
    literal = c if not c.isalnum() else None
    return "\\" + c, j, literal


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    """Convert a character class starting at ``pattern[i] == '['``."""
    out = ["["]
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        out.append("^")
        j += 1
    first = True
    while j < len(pattern):
        c = pattern[j]
        if c == "]" and not first:
            out.append("]")
            return "".join(out), j + 1
        first = False
        if c == "\\":
            text, j, _ = _escape(pattern, j, in_class=True)
            out.append(text)
            continue
        if c == "[":
            raise _syntax("Nested character classes are not supported", pattern)
        if c == "&" and pattern.startswith("&&", j):
            raise _syntax("Character class intersection (&&) is not supported", pattern)
        if c == "-" and pattern.startswith("--", j):
            raise _syntax("'--' inside a character class is not supported", pattern)
        out.append("\\" + c if c in "&~|" else c)
        j += 1
    raise _syntax("Unclosed character class", pattern)


_QUANT = re.compile(r"\*|\+|\?|\{(\d+)(,(\d*))?\}")


def _convert(pattern: str) -> tuple[str, int, bool]:
    """Java regex -> Python regex text, the count of unbounded quantifiers, exponential risk."""
    out: list[str] = []
    stack = [_Group()]
    unbounded = 0
    exponential = False
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        atom_start = len(out)
        literal: str | None = None
        closed: _Group | None = None
        group = stack[-1]
        if c == "\\":
            text, i, literal = _escape(pattern, i, in_class=False)
            out.append(text)
        elif c == "[":
            text, i = _char_class(pattern, i)
            out.append(text)
        elif c == "(":
            if pattern.startswith("(?", i) and i + 2 < n and pattern[i + 2] not in ":=!<>":
                end = pattern.find(")", i)
                colon = pattern.find(":", i)
                if 0 <= end and (colon < 0 or end < colon):
                    flags = pattern[i + 2 : end]
                    if not re.fullmatch(r"[imsx]*(-[imsx]*)?", flags):
                        raise _syntax(f"Unsupported inline flags '(?{flags})'", pattern)
                    if "".join(out) or len(stack) > 1:
                        raise _syntax("Inline flags are supported only at the start", pattern)
                    out.append(pattern[i : end + 1])
                    i = end + 1
                    continue
            if pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
                end = pattern.find(">", i)
                if end < 0:
                    raise _syntax("Unclosed group name", pattern)
                out.append("(?P<" + pattern[i + 3 : end] + ">")
                i = end + 1
            else:
                match = re.match(r"\(\?[imsx-]*:|\(\?[=!>]|\(\?<[=!]|\(", pattern[i:])
                assert match is not None
                out.append(match.group(0))
                i += len(match.group(0))
            stack.append(_Group(start=len(out)))
            group.items += 1
            continue
        elif c == ")":
            if len(stack) == 1:
                raise _syntax("Unmatched closing ')'", pattern)
            closed = stack.pop()
            out.append(")")
            i += 1
            group = stack[-1]
            atom_start = closed.start - 1
        elif c == "|":
            group.alternation = True
            out.append("|")
            i += 1
            continue
        else:
            if c not in "^$.":
                literal = c
            out.append(c)
            i += 1
        group.items += 1
        if group.items == 1 and literal is not None and group.first_literal is None:
            group.first_literal = literal
        quant = _QUANT.match(pattern, i)
        if closed is not None:
            group.quantified.extend(closed.quantified)
            group.risky = group.risky or closed.risky
        if quant is None:
            continue
        i = quant.end()
        text = quant.group(0)
        if i < n and pattern[i] in "+?":
            text += pattern[i]
            i += 1
        out.append(text)
        possessive = text.endswith("+") and len(text) > 1
        if text[0] in "*+":
            most = -1
        elif text[0] == "?":
            most = 1
        elif quant.group(2) is None:
            most = int(quant.group(1))
        else:
            most = int(quant.group(3)) if quant.group(3) else -1
        nested = closed is not None and bool(closed.quantified or closed.alternation or closed.risky)
        if possessive or 0 <= most <= 1 or (most > 1 and not nested):
            continue
        unbounded += 1
        atom = "".join(out[atom_start:-1])
        if closed is not None and nested:
            lead = closed.first_literal
            safe = (
                lead is not None
                and not closed.alternation
                and not closed.risky
                and not any(_matches_char(q, lead) for q in closed.quantified)
            )
            if not safe:
                group.risky = True
                exponential = True
        group.quantified.append(atom)
    if len(stack) > 1:
        raise _syntax("Unclosed group", pattern)
    return "".join(out), unbounded, exponential


def _matches_char(atom: str, char: str) -> bool:
    try:
        return re.fullmatch(atom, char, re.ASCII) is not None
    except re.error:
        return True


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> JavaPattern:
    text, unbounded, exponential = _convert(pattern)
    try:
        regex = re.compile(text, re.ASCII)
    except (re.error, OverflowError, RecursionError) as exc:
        raise _syntax(str(exc), pattern) from exc
    return JavaPattern(regex, unbounded, exponential)


def java_pattern(env: Env, pattern: str) -> JavaPattern:
    """Convert and compile a Java regex (cached), within the pattern-length limit."""
    return compile_java(env.limits, pattern)


def compile_java(limits: Limits, pattern: str) -> JavaPattern:
    """``java_pattern`` for callers outside an evaluation (trigger constraints)."""
    if len(pattern) > limits.max_regex_length:
        raise LimitExceeded(f"regex longer than {limits.max_regex_length} characters")
    return _compile(pattern)
