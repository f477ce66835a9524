"""Property-based fuzzing: random text, and random well-formed expressions over random JSON roots,
never raise anything but ExpressionError (and the public API never raises at all)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gennaker.clock import FrozenClock
from gennaker.expressions import EvaluationContext, ExpressionError, Limits, compile_expression, evaluate_in
from gennaker.expressions.limits import Env

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMITS = Limits(max_steps=20_000, max_seconds=2.0, max_string_length=200_000, max_alloc=1_000_000)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
KEYS = ["a", "b", "list", "map", "s", "n", "f", "nothing", "execution", "trigger"]
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=8,
)
roots = st.fixed_dictionaries(
    {
        "a": json_values,
        "b": json_scalars,
        "list": st.lists(json_scalars, max_size=4),
        "map": st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3),
        "s": st.text(max_size=10),
        "n": st.integers(-(2**40), 2**40),
        "f": st.floats(),
        "nothing": st.none(),
    }
)

METHODS = [
    "length", "substring", "indexOf", "contains", "startsWith", "toUpperCase", "trim", "replace", "replaceAll",
    "split", "equals", "isEmpty", "charAt", "matches", "size", "get", "containsKey", "keySet", "values",
    "entrySet", "toString", "intValue", "hashCode", "repeat", "concat", "__class__", "getClass", "format",
]  # fmt: skip
FUNCTIONS = [
    "stage", "stageExists", "currentStage", "toJson", "readJson", "readYaml", "toInt", "toFloat", "toBoolean",
    "toBase64", "fromBase64", "alphanumerical", "deployedServerGroups", "doNotEval", "judgment", "nope",
]  # fmt: skip
TYPES = ["java.lang.Math", "Integer", "String", "java.util.UUID", "java.time.LocalDate", "java.lang.Runtime"]
STATICS = ["max", "min", "abs", "round", "parseInt", "valueOf", "format", "now", "randomUUID", "exec"]
BINARY = ["+", "-", "*", "/", "%", "^", "==", "!=", "<", ">=", "and", "or", "matches", "between", "?:"]


def _literal() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-1000, 1000).map(str),
        st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: repr(f) if "e" not in repr(f) else "1.5"),
        st.text(alphabet="ab c.,-_*+?()[]{}$\\'", max_size=8).map(lambda s: "'" + s.replace("'", "''") + "'"),
        st.sampled_from(["true", "false", "null", "{}", "{:}", "''", "#this", "#root"]),
        st.sampled_from(KEYS),
    )


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    args = st.lists(children, max_size=3).map(", ".join)
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "!", "not "]), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, st.sampled_from(KEYS + ["x", "__dict__"]), st.booleans()).map(
            lambda t: f"({t[0]}){'?.' if t[2] else '.'}{t[1]}"
        ),
        st.tuples(children, children).map(lambda t: f"({t[0]})[{t[1]}]"),
        st.tuples(children, st.sampled_from(METHODS), args).map(lambda t: f"({t[0]}).{t[1]}({t[2]})"),
        st.tuples(children, st.sampled_from([".?[", ".^[", ".$[", ".!["]), children).map(
            lambda t: f"({t[0]}){t[1]}{t[2]}]"
        ),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.lists(children, max_size=3).map(lambda items: "{" + ", ".join(items) + "}"),
        st.lists(st.tuples(st.sampled_from(KEYS), children), min_size=1, max_size=3).map(
            lambda items: "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
        ),
        st.tuples(st.sampled_from(FUNCTIONS), args).map(lambda t: f"#{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(TYPES), st.sampled_from(STATICS), args).map(
            lambda t: f"T({t[0]}).{t[1]}({t[2]})"
        ),
        st.tuples(
            st.sampled_from(["java.util.Date", "String", "java.util.Random", "java.io.File"]), args
        ).map(lambda t: f"new {t[0]}({t[1]})"),
    )


expressions = st.recursive(_literal(), _extend, max_leaves=12)


def _ctx(root: dict[str, Any], allow: bool = True) -> EvaluationContext:
    return EvaluationContext(root=root, allow_unknown_keys=allow, limits=LIMITS, clock=FrozenClock())


@SETTINGS
@given(st.text(max_size=80))
def test_random_text_parses_or_raises_expression_error(text: str) -> None:
    try:
        compile_expression(text)
    except ExpressionError:
        pass


@SETTINGS
@given(st.text(alphabet="${}()[]'\"abc.#?:!+-*/ 0123456789,", max_size=60), roots)
def test_random_templates_never_raise(text: str, root: dict[str, Any]) -> None:
    result = evaluate_in(text, _ctx(root))
    if result.summary.has_failures:
        assert result.value == text


@SETTINGS
@given(expressions, roots, st.booleans())
def test_random_expressions_raise_only_expression_errors(
    text: str, root: dict[str, Any], allow: bool
) -> None:
    try:
        compiled = compile_expression(text)
    except ExpressionError:
        return
    try:
        compiled.run(Env(_ctx(root, allow)))
    except ExpressionError:
        pass


@SETTINGS
@given(expressions, roots)
def test_random_expressions_through_the_public_api(text: str, root: dict[str, Any]) -> None:
    result = evaluate_in("${" + text + "}", _ctx(root))
    assert result.summary.has_failures or result.value is not None
