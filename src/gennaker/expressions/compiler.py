"""Lark tree -> nested Python closures, compiled once per expression text (LRU-cached).

Each closure takes the evaluation state (``Env``) and returns a value; each spends one step.
Left-associative chains (``a + b + c``, ``a.b.c[0]``, ``a and b and c``) and unary runs compile to
one closure that loops, so neither compiling nor evaluating recurses with the chain's length;
only true nesting (parentheses around operators, ternaries, inline lists) does, bounded by
``Limits.max_depth``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lark import Token, Tree

from gennaker.expressions import operators as ops
from gennaker.expressions import postfix
from gennaker.expressions.errors import ExpressionSyntaxError, LimitExceeded
from gennaker.expressions.functions import call_function
from gennaker.expressions.limits import DEFAULT_LIMITS, Env
from gennaker.expressions.parser import parse
from gennaker.expressions.postfix import Node, tick
from gennaker.expressions.types import construct, find_type
from gennaker.expressions.values import call_method

_AnyTree = Tree[Any]
_POSTFIX = frozenset(("dot", "safe_dot", "index", "safe_index", "select"))
_BINARY: dict[str, Callable[[Env, Any, Any], Any]] = {
    "+": ops.add,
    "-": ops.subtract,
    "*": ops.multiply,
    "/": ops.divide,
    "div": ops.divide,
    "%": ops.modulo,
    "mod": ops.modulo,
}


@dataclass(frozen=True)
class CompiledExpression:
    """One parsed and compiled expression (the text inside ``${...}``)."""

    text: str
    node: Node

    def run(self, env: Env) -> Any:
        """Evaluate in ``env`` and return the raw value (possibly a Java-like object)."""
        try:
            return self.node(env)
        except RecursionError:
            raise LimitExceeded("a value or the evaluation is nested too deeply") from None


def _const(value: Any) -> Node:
    return lambda env: value


def _unquote(token: str) -> str:
    quote = token[0]
    return token[1:-1].replace(quote * 2, quote)


def _int_literal(text: str) -> int:
    body = text[:-1] if text[-1] in "lL" else text
    if len(body) > 40:
        raise ExpressionSyntaxError(f"EL1035E: The value '{text[:50]}' cannot be parsed as a long")
    value = int(body, 16) if body[:2] in ("0x", "0X") else int(body)
    if value > 2**63 - 1:
        raise ExpressionSyntaxError(f"EL1035E: The value '{text}' cannot be parsed as a long")
    return value


def _real_literal(text: str) -> float:
    value = float(text[:-1] if text[-1] in "fFdD" else text)
    if value in (float("inf"), float("-inf")):
        raise ExpressionSyntaxError(f"EL1034E: The value '{text}' cannot be parsed as a double")
    return value


class _Compiler:
    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth

    def compile(self, tree: Any, depth: int) -> Node:
        if depth > self.max_depth:
            raise LimitExceeded(f"expression nested more than {self.max_depth} levels deep")
        if isinstance(tree, Token):  # pragma: no cover - the grammar wraps every terminal
            raise ExpressionSyntaxError(f"unexpected token {tree!r}")
        kind = tree.data
        method = getattr(self, "c_" + kind, None)
        if method is None:  # pragma: no cover - every rule of the grammar has a method
            raise ExpressionSyntaxError(f"unsupported construct '{kind}'")
        node: Node = method(tree, depth + 1)
        return node

    def args(self, tree: Any, depth: int) -> list[Node]:
        if tree is None:
            return []
        return [self.compile(child, depth) for child in tree.children]

    # literals
    def c_str_sq(self, t: _AnyTree, d: int) -> Node:
        return _const(_unquote(str(t.children[0])))

    c_str_dq = c_str_sq

    def c_int_lit(self, t: _AnyTree, d: int) -> Node:
        return _const(_int_literal(str(t.children[0])))

    def c_real(self, t: _AnyTree, d: int) -> Node:
        return _const(_real_literal(str(t.children[0])))

    def c_true(self, t: _AnyTree, d: int) -> Node:
        return _const(True)

    def c_false(self, t: _AnyTree, d: int) -> Node:
        return _const(False)

    def c_null(self, t: _AnyTree, d: int) -> Node:
        return _const(None)

    # references
    def c_prop_ref(self, t: _AnyTree, d: int) -> Node:
        name = str(t.children[0])
        if name == "deployedServerGroups":
            # Spinnaker rewrites the bare name to #deployedServerGroups(#root.execution).
            return self._function("deployedServerGroups", [])
        return postfix.property_of_this(name)

    def c_call_this(self, t: _AnyTree, d: int) -> Node:
        name = str(t.children[0])
        args = self.args(t.children[1], d)

        def node(env: Env) -> Any:
            tick(env)
            return call_method(env, env.this, name, [a(env) for a in args])

        return node

    def c_variable(self, t: _AnyTree, d: int) -> Node:
        name = str(t.children[0])[1:]
        if name == "this":

            def this(env: Env) -> Any:
                tick(env)
                return env.this

            return this
        if name == "root":

            def root(env: Env) -> Any:
                tick(env)
                return env.root

            return root
        return _const(None)

    def c_function(self, t: _AnyTree, d: int) -> Node:
        return self._function(str(t.children[0])[1:], self.args(t.children[1], d))

    def _function(self, name: str, args: list[Node]) -> Node:
        def node(env: Env) -> Any:
            tick(env)
            return call_function(env, name, [a(env) for a in args])

        return node

    def c_type_ref(self, t: _AnyTree, d: int) -> Node:
        name = ".".join(str(part) for part in t.children[1].children)

        def node(env: Env) -> Any:
            tick(env)
            return find_type(name)

        return node

    def c_new_obj(self, t: _AnyTree, d: int) -> Node:
        name = ".".join(str(part) for part in t.children[1].children)
        args = self.args(t.children[2], d)

        def node(env: Env) -> Any:
            tick(env)
            return construct(env, name, [a(env) for a in args])

        return node

    def c_index_this(self, t: _AnyTree, d: int) -> Node:
        op = postfix.index_op(self.compile(t.children[0], d), postfix.bare_name(t.children[0]), False)
        return lambda env: op(env, env.this)

    # collections
    def c_empty_list(self, t: _AnyTree, d: int) -> Node:
        return lambda env: []

    def c_empty_map(self, t: _AnyTree, d: int) -> Node:
        return lambda env: {}

    def c_inline_list(self, t: _AnyTree, d: int) -> Node:
        items = [self.compile(child, d) for child in t.children]

        def node(env: Env) -> Any:
            tick(env)
            return env.new_list([item(env) for item in items])

        return node

    def c_inline_map(self, t: _AnyTree, d: int) -> Node:
        entries: list[tuple[Node, Node]] = []
        for entry in t.children:
            key_tree, value_tree = entry.children
            name = postfix.bare_name(key_tree)
            key = _const(name) if name is not None else self.compile(key_tree, d)
            entries.append((key, self.compile(value_tree, d)))

        def node(env: Env) -> Any:
            tick(env)
            env.check_collection_size(len(entries))
            return {postfix.map_key(k(env)): v(env) for k, v in entries}

        return node

    # postfix chains: a.b?.c[0].?[x].m(1)
    def _chain(self, t: _AnyTree, d: int) -> Node:
        steps: list[_AnyTree] = []
        while isinstance(t, Tree) and t.data in _POSTFIX:
            steps.append(t)
            t = t.children[0]
        base = self.compile(t, d)
        applied = [self._postfix_op(step, d) for step in reversed(steps)]
        return postfix.chain(base, applied)

    c_dot = c_safe_dot = c_index = c_safe_index = c_select = _chain

    def _postfix_op(self, t: _AnyTree, d: int) -> postfix.Op:
        kind = t.data
        if kind in ("dot", "safe_dot"):
            member = t.children[-1]
            name = str(member.children[0])
            safe = kind == "safe_dot"
            if member.data == "member_prop":
                return postfix.property_op(name, safe)
            return postfix.call_op(name, self.args(member.children[1], d), safe)
        if kind in ("index", "safe_index"):
            index_tree = t.children[-1]
            return postfix.index_op(
                self.compile(index_tree, d), postfix.bare_name(index_tree), kind == "safe_index"
            )
        token = str(t.children[1])
        return postfix.select_op(token[-2], self.compile(t.children[2], d), token.startswith("?"))

    # operators
    def c_ternary(self, t: _AnyTree, d: int) -> Node:
        cond, yes, no = (self.compile(child, d) for child in t.children)

        def node(env: Env) -> Any:
            tick(env)
            return yes(env) if ops.to_boolean(cond(env)) else no(env)

        return node

    def c_elvis(self, t: _AnyTree, d: int) -> Node:
        left, right = self.compile(t.children[0], d), self.compile(t.children[2], d)

        def node(env: Env) -> Any:
            tick(env)
            value = left(env)
            return right(env) if value is None or value == "" else value

        return node

    def _flatten(self, t: _AnyTree, kind: str, token_type: str | None = None) -> tuple[Any, list[Any]]:
        """Walk down a left-leaning chain of ``kind`` nodes: (leftmost operand, [(op, right)...])."""
        rest: list[Any] = []
        while (
            isinstance(t, Tree)
            and t.data == kind
            and (token_type is None or getattr(t.children[1], "type", None) == token_type)
        ):
            rest.append((str(t.children[1]).lower(), t.children[2]))
            t = t.children[0]
        rest.reverse()
        return t, rest

    def c_or_op(self, t: _AnyTree, d: int) -> Node:
        first, rest = self._flatten(t, "or_op")
        operands = [self.compile(first, d)] + [self.compile(right, d) for _, right in rest]

        def node(env: Env) -> Any:
            tick(env)
            return any(ops.to_boolean(operand(env)) for operand in operands)

        return node

    def c_and_op(self, t: _AnyTree, d: int) -> Node:
        first, rest = self._flatten(t, "and_op")
        operands = [self.compile(first, d)] + [self.compile(right, d) for _, right in rest]

        def node(env: Env) -> Any:
            tick(env)
            return all(ops.to_boolean(operand(env)) for operand in operands)

        return node

    def c_binop(self, t: _AnyTree, d: int) -> Node:
        token_type = str(getattr(t.children[1], "type", ""))
        first, rest = self._flatten(t, "binop", token_type)
        left = self.compile(first, d)
        steps = [(_BINARY[op], self.compile(right, d)) for op, right in rest]

        def node(env: Env) -> Any:
            tick(env)
            value = left(env)
            for fn, right in steps:
                value = fn(env, value, right(env))
            return value

        return node

    def c_pow_op(self, t: _AnyTree, d: int) -> Node:
        left, right = self.compile(t.children[0], d), self.compile(t.children[1], d)

        def node(env: Env) -> Any:
            tick(env)
            return ops.power(env, left(env), right(env))

        return node

    def c_unary_op(self, t: _AnyTree, d: int) -> Node:
        signs: list[str] = []
        while isinstance(t, Tree) and t.data == "unary_op":
            signs.append(str(t.children[0]).lower())
            t = t.children[1]
        operand = self.compile(t, d)
        signs.reverse()

        def node(env: Env) -> Any:
            tick(env)
            value = operand(env)
            for sign in signs:
                if sign == "-":
                    value = ops.negate(env, value)
                elif sign == "+":
                    value = ops.plus(env, value)
                else:
                    value = not ops.to_boolean(value)
            return value

        return node

    def c_compare(self, t: _AnyTree, d: int) -> Node:
        left, right = self.compile(t.children[0], d), self.compile(t.children[2], d)
        test = ops.COMPARISONS[str(t.children[1]).lower()]

        def node(env: Env) -> Any:
            tick(env)
            return test(env, left(env), right(env))

        return node


@functools.lru_cache(maxsize=4096)
def _compile_cached(text: str, max_depth: int) -> CompiledExpression:
    tree = parse(text)
    try:
        node = _Compiler(max_depth).compile(tree, 0)
    except RecursionError:
        raise LimitExceeded("expression nested too deeply") from None
    return CompiledExpression(text, node)


def compile_expression(
    text: str,
    *,
    max_length: int = DEFAULT_LIMITS.max_expression_length,
    max_depth: int = DEFAULT_LIMITS.max_depth,
) -> CompiledExpression:
    """Parse and compile an expression (without ``${}``), cached by text; raises ExpressionError."""
    if len(text) > max_length:
        raise LimitExceeded(f"expression longer than {max_length} characters")
    return _compile_cached(text, max_depth)
