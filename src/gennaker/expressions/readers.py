"""Text parsers behind ``#readJson``, ``#readYaml``, ``#readAllYaml``, ``#readProperties``,
``#toJson`` and the URL helpers. Results are bounded like any value an expression builds."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import yaml

from gennaker.expressions.errors import ExpressionError, helper_error
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import NotEvaluable, to_plain


class _SafeLoader(yaml.SafeLoader):
    """SnakeYAML's SafeConstructor, minus timestamps (kept as strings, which JSON can hold)."""


_SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _bounded(env: Env, value: Any, what: str) -> Any:
    """Copy a parsed document into plain data within the evaluation's allocation budget."""
    try:
        plain = to_plain(value, env.limits.max_alloc)
    except (ValueError, RecursionError) as exc:
        raise helper_error(f"{what} failed: {exc}") from exc
    return plain


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}'")


def read_json(env: Env, text: Any) -> Any:
    """``#readJson``: a map, or a list when the text starts with ``[`` (trailing text ignored)."""
    if not isinstance(text, str):
        raise helper_error(f"#readJson({text}) failed: a String is needed")
    try:
        value, _ = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(text.lstrip())
    except (ValueError, RecursionError) as exc:
        raise helper_error(f"#readJson({_short(text)}) failed: {exc}") from exc
    wanted = list if text.startswith("[") else dict
    if not isinstance(value, wanted):
        raise helper_error(
            f"#readJson({_short(text)}) failed: expected a JSON {'array' if wanted is list else 'object'}"
        )
    return _bounded(env, value, "#readJson")


def read_yaml(env: Env, text: Any) -> Any:
    """``#readYaml``: one YAML document (safe constructors only)."""
    if not isinstance(text, str):
        raise helper_error(f"#readYaml({text}) failed: a String is needed")
    try:
        value = yaml.load(text, Loader=_SafeLoader)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise helper_error(f"#readYaml({_short(text)}) failed: {exc}") from exc
    return _bounded(env, value, "#readYaml")


def read_all_yaml(env: Env, text: Any) -> list[Any]:
    """``#readAllYaml``: every document of a multi-document YAML text."""
    if not isinstance(text, str):
        raise helper_error(f"#readAllYaml({text}) failed: a String is needed")
    try:
        docs = list(yaml.load_all(text, Loader=_SafeLoader))
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise helper_error(f"#readAllYaml({_short(text)}) failed: {exc}") from exc
    result = _bounded(env, docs, "#readAllYaml")
    assert isinstance(result, list)
    return result


_PROP_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_PROP_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def read_properties(env: Env, text: Any) -> dict[str, str]:
    """Java ``Properties.load``: ``key=value``, ``key: value``, ``key value``, ``#``/``!``
    comments, backslash line continuations and escapes."""
    if not isinstance(text, str):
        raise helper_error(f"#readProperties({text}) failed: a String is needed")
    result: dict[str, str] = {}
    logical: list[str] = []
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f")
        if not logical and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            logical.append(line[:-1])
            continue
        logical.append(line)
        _property_line("".join(logical), result)
        logical = []
    if logical:
        _property_line("".join(logical), result)
    env.check_collection_size(len(result))
    return result


def _property_line(line: str, into: dict[str, str]) -> None:
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c in "=: \t\f":
            break
        i += 1
    key = line[:i]
    rest = line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    into[_unescape(key)] = _unescape(rest)


def to_json(env: Env, value: Any) -> str:
    """``#toJson``: compact JSON; an error if the result contains ``${`` unless ``#doNotEval``."""
    check = True
    if isinstance(value, NotEvaluable):
        value, check = value.value, False
    plain = _bounded(env, value, "#toJson")
    try:
        text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, RecursionError) as exc:
        raise helper_error(f"#toJson failed: {exc}") from exc
    if check and "${" in text:
        raise helper_error("result for toJson cannot contain an expression")
    return env.new_str(text)


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "..."


def decode_base64(text: str) -> bytes:
    """Java's basic Base64 decoder: standard alphabet, padding optional, nothing else allowed."""
    body = text.rstrip("=")
    if len(text) - len(body) > 2 or not re.fullmatch(r"[A-Za-z0-9+/]*", body) or len(body) % 4 == 1:
        raise ExpressionError("Illegal base64 character or length", "java.lang.IllegalArgumentException")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error as exc:
        raise ExpressionError(str(exc), "java.lang.IllegalArgumentException") from exc
