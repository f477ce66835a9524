"""The line of a file at which a JSON path (``$.stages[0].type``) stands, for error reports."""

from __future__ import annotations

import re

import yaml

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def line_of(text: str, path: str) -> int | None:
    """1-based line of the value at ``path`` (or of its nearest existing ancestor); None if unknown.

    JSON is read as YAML here (every JSON document this project accepts is also YAML), so one
    walk over PyYAML's node tree serves both formats.
    """
    try:
        node: yaml.Node | None = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key, index in _STEP.findall(path.removeprefix("$")):
        child: yaml.Node | None = None
        if key and isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if child is None:
                return line
            line = child.start_mark.line + 1
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
            line = child.start_mark.line + 1
        else:
            return line
        node = child
    return line
