"""Python literals and a small line-breaking layout for generated source.

Expressions are built as a tree of `Group`s (a call, list, tuple or dict) whose leaves are
source strings; `render` writes a group on one line when it fits in `WIDTH` columns and one
item per line (with trailing commas) when it does not, like black would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WIDTH = 99  # one column left for a trailing comma


class CodegenError(ValueError):
    """A pipeline that cannot be written as a pipeline file; the message says where and why."""


@dataclass
class Group:
    open: str
    items: list[tuple[str, Node]] = field(default_factory=list)  # (prefix, child)
    close: str = ""
    one_tuple: bool = False  # a 1-tuple needs a comma even on one line
    multiline: bool = False  # always one item per line (a pipeline's steps)


Node = str | Group


def literal(value: Any, where: str) -> Node:
    """`value` as a Python literal; `where` names the step/parameter in errors."""
    if isinstance(value, str):
        return string(value)
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    if hasattr(value, "item") and type(value).__module__ == "numpy" and getattr(
        value, "shape", None
    ) == ():
        return literal(value.item(), where)  # numpy scalars become plain Python numbers
    if isinstance(value, tuple):
        items = [("", literal(v, f"{where}[{i}]")) for i, v in enumerate(value)]
        return Group("(", items, ")", one_tuple=len(items) == 1)
    if isinstance(value, list):
        return Group("[", [("", literal(v, f"{where}[{i}]")) for i, v in enumerate(value)], "]")
    if isinstance(value, dict):
        items = []
        for key, v in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise CodegenError(f"{where}: dict key {key!r} is not a string or int")
            items.append((f"{literal(key, where)}: ", literal(v, f"{where}[{key!r}]")))
        return Group("{", items, "}")
    raise CodegenError(
        f"{where}: {type(value).__name__} value {value!r} cannot be written as a Python literal "
        "(use None, bool, int, float, str, or tuples/lists/dicts of them)"
    )


def string(text: str) -> str:
    """A string literal, double-quoted unless the text itself contains a double quote."""
    quoted = repr(text)
    if quoted.startswith("'") and '"' not in text:
        return '"' + quoted[1:-1] + '"'
    return quoted


def flat(node: Node) -> str:
    if isinstance(node, str):
        return node
    inner = ", ".join(prefix + flat(child) for prefix, child in node.items)
    return node.open + inner + ("," if node.one_tuple else "") + node.close


def render(node: Node, indent: int = 0, lead: int = 0) -> str:
    """`node` as source starting at column `indent + lead`, broken over lines if too long."""
    one_line = flat(node)
    if isinstance(node, str) or not node.items:
        return one_line
    if not node.multiline and indent + lead + len(one_line) <= WIDTH:
        return one_line
    pad = " " * (indent + 4)
    lines = [node.open]
    for prefix, child in node.items:
        lines.append(f"{pad}{prefix}{render(child, indent + 4, len(prefix))},")
    lines.append(" " * indent + node.close)
    return "\n".join(lines)
