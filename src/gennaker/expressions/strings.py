"""``java.lang.String`` methods, with Java's results and exceptions, including Java's rules for
regex replacement strings (``$1``, ``${name}``) and ``split``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from gennaker.expressions.errors import ILLEGAL_ARGUMENT, INDEX_OUT_OF_BOUNDS, ExpressionError
from gennaker.expressions.jformat import java_string_hash, to_java_string
from gennaker.expressions.jregex import java_pattern
from gennaker.expressions.limits import Env
from gennaker.expressions.objects import Method, type_name


def java_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    """Java's ``Matcher.replaceAll`` replacement syntax (``$1``, ``${name}``, ``\\$``)."""
    parts: list[str | int] = []
    i = 0
    buf: list[str] = []
    while i < len(replacement):
        c = replacement[i]
        if c == "\\":
            if i + 1 >= len(replacement):
                raise ExpressionError("character to be escaped is missing", ILLEGAL_ARGUMENT)
            buf.append(replacement[i + 1])
            i += 2
        elif c == "$":
            if i + 1 < len(replacement) and replacement[i + 1] == "{":
                end = replacement.find("}", i)
                if end < 0:
                    raise ExpressionError("named capturing group is missing trailing '}'", ILLEGAL_ARGUMENT)
                parts.append("".join(buf))
                buf = []
                parts.append("\x00" + replacement[i + 2 : end])
                i = end + 1
                continue
            j = i + 1
            while j < len(replacement) and replacement[j].isdigit():
                j += 1
            if j == i + 1:
                raise ExpressionError("Illegal group reference", ILLEGAL_ARGUMENT)
            parts.append("".join(buf))
            buf = []
            parts.append(int(replacement[i + 1 : j]))
            i = j
        else:
            buf.append(c)
            i += 1
    parts.append("".join(buf))

    def expand(match: re.Match[str]) -> str:
        out: list[str] = []
        groups = match.re.groups
        for part in parts:
            if isinstance(part, int):
                digits = str(part)
                # Java takes as many digits as still name an existing group.
                k = len(digits)
                while k > 1 and int(digits[:k]) > groups:
                    k -= 1
                number = int(digits[:k])
                if number > groups:
                    raise ExpressionError(f"No group {number}", "java.lang.IndexOutOfBoundsException")
                out.append(match.group(number) or "")
                out.append(digits[k:])
            elif part.startswith("\x00"):
                name = part[1:]
                if name not in match.re.groupindex:
                    raise ExpressionError(f"No group with name {{{name}}}", ILLEGAL_ARGUMENT)
                out.append(match.group(name) or "")
            else:
                out.append(part)
        return "".join(out)

    return expand


def java_split(env: Env, text: str, pattern: str, limit: int = 0) -> list[str]:
    """``String.split(regex, limit)`` with Java's rules for empty leading and trailing parts."""
    compiled = java_pattern(env, pattern)
    compiled.check(env, text, search=True)
    parts: list[str] = []
    index = 0
    matched = False
    for match in compiled.regex.finditer(text):
        if limit > 0 and len(parts) >= limit - 1:
            break
        if match.end() == 0:
            continue
        matched = True
        parts.append(text[index : match.start()])
        index = match.end()
        if len(parts) > env.limits.max_collection_size:
            env.check_collection_size(len(parts))
    if not matched:
        return [text]
    parts.append(text[index:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    env.check_collection_size(len(parts))
    return parts


def _arity(name: str, args: list[Any], *counts: int) -> None:
    if len(args) not in counts:
        raise ExpressionError(
            f"EL1004E: Method call: Method {name}() with {len(args)} argument(s) "
            "cannot be found on type java.lang.String"
        )


def _str_arg(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        raise ExpressionError(f"{name}(): argument is null", "java.lang.NullPointerException")
    raise ExpressionError(
        f"EL1004E: Method call: Method {name}({type_name(value)}) cannot be found on type java.lang.String"
    )


def _int_arg(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ExpressionError(
        f"EL1004E: Method call: Method {name}({type_name(value)}) cannot be found on type java.lang.String"
    )


def _length(env: Env, s: str, args: list[Any]) -> int:
    _arity("length", args, 0)
    return len(s)


def _substring(env: Env, s: str, args: list[Any]) -> str:
    _arity("substring", args, 1, 2)
    begin = _int_arg("substring", args[0])
    end = _int_arg("substring", args[1]) if len(args) == 2 else len(s)
    if begin < 0 or end > len(s) or begin > end:
        raise ExpressionError(f"begin {begin}, end {end}, length {len(s)}", INDEX_OUT_OF_BOUNDS)
    return s[begin:end]


def _index_of(env: Env, s: str, args: list[Any]) -> int:
    _arity("indexOf", args, 1, 2)
    start = max(_int_arg("indexOf", args[1]), 0) if len(args) == 2 else 0
    return s.find(_str_arg("indexOf", args[0]), start)


def _last_index_of(env: Env, s: str, args: list[Any]) -> int:
    _arity("lastIndexOf", args, 1, 2)
    needle = _str_arg("lastIndexOf", args[0])
    if len(args) == 2:
        start = _int_arg("lastIndexOf", args[1])
        if start < 0:
            return -1
        return s.rfind(needle, 0, start + len(needle))
    return s.rfind(needle)


def _contains(env: Env, s: str, args: list[Any]) -> bool:
    _arity("contains", args, 1)
    return _str_arg("contains", args[0]) in s


def _starts_with(env: Env, s: str, args: list[Any]) -> bool:
    _arity("startsWith", args, 1, 2)
    offset = _int_arg("startsWith", args[1]) if len(args) == 2 else 0
    if offset < 0 or offset > len(s):
        return False
    return s.startswith(_str_arg("startsWith", args[0]), offset)


def _ends_with(env: Env, s: str, args: list[Any]) -> bool:
    _arity("endsWith", args, 1)
    return s.endswith(_str_arg("endsWith", args[0]))


def _trim(env: Env, s: str, args: list[Any]) -> str:
    _arity("trim", args, 0)
    start, end = 0, len(s)
    while start < end and s[start] <= " ":
        start += 1
    while end > start and s[end - 1] <= " ":
        end -= 1
    return s[start:end]


def _simple(name: str, fn: Any) -> Method:
    def method(env: Env, s: str, args: list[Any]) -> Any:
        _arity(name, args, 0)
        result = fn(s)
        return env.new_str(result) if isinstance(result, str) and len(result) > len(s) else result

    return method


def _replace(env: Env, s: str, args: list[Any]) -> str:
    _arity("replace", args, 2)
    old, new = _str_arg("replace", args[0]), _str_arg("replace", args[1])
    count = s.count(old) if old else len(s) + 1
    env.check_str_length(len(s) + count * (len(new) - len(old)))
    return s.replace(old, new)


def _replace_regex(name: str, count: int) -> Method:
    def method(env: Env, s: str, args: list[Any]) -> str:
        _arity(name, args, 2)
        pattern = java_pattern(env, _str_arg(name, args[0]))
        pattern.check(env, s, search=True)
        expand = java_replacement(_str_arg(name, args[1]))
        return env.new_str(pattern.regex.sub(expand, s, count=count))

    return method


def _split(env: Env, s: str, args: list[Any]) -> list[str]:
    _arity("split", args, 1, 2)
    limit = _int_arg("split", args[1]) if len(args) == 2 else 0
    return java_split(env, s, _str_arg("split", args[0]), limit)


def _matches(env: Env, s: str, args: list[Any]) -> bool:
    _arity("matches", args, 1)
    return matches(env, s, _str_arg("matches", args[0]))


def matches(env: Env, text: str, regex: str) -> bool:
    """Java's ``String.matches``: the whole string must match."""
    pattern = java_pattern(env, regex)
    pattern.check(env, text, search=False)
    return pattern.regex.fullmatch(text) is not None


def _equals(env: Env, s: str, args: list[Any]) -> bool:
    _arity("equals", args, 1)
    return isinstance(args[0], str) and s == args[0]


def _equals_ignore_case(env: Env, s: str, args: list[Any]) -> bool:
    _arity("equalsIgnoreCase", args, 1)
    other = args[0]
    return isinstance(other, str) and len(s) == len(other) and s.casefold() == other.casefold()


def _char_at(env: Env, s: str, args: list[Any]) -> str:
    _arity("charAt", args, 1)
    index = _int_arg("charAt", args[0])
    if index < 0 or index >= len(s):
        raise ExpressionError(f"String index out of range: {index}", INDEX_OUT_OF_BOUNDS)
    return s[index]


def _concat(env: Env, s: str, args: list[Any]) -> str:
    _arity("concat", args, 1)
    other = _str_arg("concat", args[0])
    env.check_str_length(len(s) + len(other))
    return s + other


def _repeat(env: Env, s: str, args: list[Any]) -> str:
    _arity("repeat", args, 1)
    count = _int_arg("repeat", args[0])
    if count < 0:
        raise ExpressionError(f"count is negative: {count}", ILLEGAL_ARGUMENT)
    env.check_str_length(len(s) * count)
    return s * count


def _compare_to(env: Env, s: str, args: list[Any]) -> int:
    _arity("compareTo", args, 1)
    other = _str_arg("compareTo", args[0])
    for a, b in zip(s, other, strict=False):
        if a != b:
            return ord(a) - ord(b)
    return len(s) - len(other)


def _compare_to_ignore_case(env: Env, s: str, args: list[Any]) -> int:
    _arity("compareToIgnoreCase", args, 1)
    return _compare_to(env, s.lower(), [_str_arg("compareToIgnoreCase", args[0]).lower()])


def _to_string(env: Env, s: str, args: list[Any]) -> str:
    _arity("toString", args, 0)
    return s


def _to_char_array(env: Env, s: str, args: list[Any]) -> list[str]:
    _arity("toCharArray", args, 0)
    return env.new_list(list(s))


def _is_blank(s: str) -> bool:
    return s.strip() == ""


STRING_METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "length": _length,
        "substring": _substring,
        "indexOf": _index_of,
        "lastIndexOf": _last_index_of,
        "contains": _contains,
        "startsWith": _starts_with,
        "endsWith": _ends_with,
        "toLowerCase": _simple("toLowerCase", str.lower),
        "toUpperCase": _simple("toUpperCase", str.upper),
        "trim": _trim,
        "strip": _simple("strip", str.strip),
        "stripLeading": _simple("stripLeading", str.lstrip),
        "stripTrailing": _simple("stripTrailing", str.rstrip),
        "isBlank": _simple("isBlank", _is_blank),
        "isEmpty": _simple("isEmpty", lambda s: s == ""),
        "replace": _replace,
        "replaceAll": _replace_regex("replaceAll", 0),
        "replaceFirst": _replace_regex("replaceFirst", 1),
        "split": _split,
        "matches": _matches,
        "equals": _equals,
        "equalsIgnoreCase": _equals_ignore_case,
        "charAt": _char_at,
        "concat": _concat,
        "repeat": _repeat,
        "hashCode": _simple("hashCode", java_string_hash),
        "compareTo": _compare_to,
        "compareToIgnoreCase": _compare_to_ignore_case,
        "toString": _to_string,
        "toCharArray": _to_char_array,
    }
)


def string_value_of(value: Any) -> str:
    """``String.valueOf(x)``."""
    return to_java_string(value)
