"""What a pipeline source sent over the network may contain.

A pipeline file is Python, and running Python from the network runs anything. So the execution
server only accepts sources of the shape `codegen` writes: `from <allowed module> import names`,
then assignments of calls, imported or assigned names and literals. No attribute access, no
builtins, no other statements: only registered functions and napari_hcs constructors are reached.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

DEFAULT_MODULES: tuple[str, ...] = ("napari_hcs",)

_EXPRESSIONS = (
    ast.Call, ast.Name, ast.Constant, ast.Tuple, ast.List, ast.Dict, ast.keyword, ast.UnaryOp,
    ast.USub, ast.UAdd, ast.Load, ast.Store,
)


class SourcePolicyError(ValueError):
    """A pipeline source the server refuses; the message names the line."""


def _allowed(module: str, modules: Iterable[str]) -> bool:
    return any(module == m or module.startswith(m + ".") for m in modules)


def check_pipeline_source(source: str, modules: Iterable[str] = DEFAULT_MODULES) -> None:
    """Raise SourcePolicyError unless `source` is a plain pipeline file (see module docstring)."""
    modules = tuple(modules)
    defined: set[str] = set()  # builtins (eval, open, ...) are not reachable: only these names
    try:
        tree = ast.parse(source, "<submitted pipeline>")
    except SyntaxError as exc:
        raise SourcePolicyError(f"line {exc.lineno}: {exc.msg}") from None
    for node in tree.body:
        line = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if isinstance(node, ast.ImportFrom):
            if node.level or not node.module or not _allowed(node.module, modules):
                raise SourcePolicyError(
                    f"{line}: imports from {node.module!r}; the server accepts imports only "
                    f"from {', '.join(modules)} (start it with --allow-module to add one)")
            if any(alias.name == "*" for alias in node.names):
                raise SourcePolicyError(f"{line}: `import *` is not accepted")
            defined.update(alias.asname or alias.name for alias in node.names)
            continue
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            for sub in ast.walk(node.value):
                if not isinstance(sub, _EXPRESSIONS):
                    raise SourcePolicyError(
                        f"{line}: {type(sub).__name__} is not accepted in a submitted pipeline "
                        "(only calls, names and literals)")
                if isinstance(sub, ast.Name) and sub.id not in defined:
                    raise SourcePolicyError(
                        f"{line}: the name {sub.id!r} is neither imported nor assigned above")
            defined.update(t.id for t in node.targets)  # type: ignore[attr-defined]
            continue
        raise SourcePolicyError(
            f"{line}: {type(node).__name__} statements are not accepted in a submitted pipeline")
