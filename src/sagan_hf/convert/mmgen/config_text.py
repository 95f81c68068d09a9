"""The training config an MMGeneration checkpoint may carry as text (`meta["config"]`), read safely.

MMGeneration's training script stores the merged config as Python source (`model = dict(...)`). It is
parsed here with `ast`, never executed: only assignments whose values are literals, lists, tuples,
dicts and `dict(...)` calls are read; every other statement is skipped.
"""

from __future__ import annotations

import ast
from typing import Any


class _NotALiteral(Exception):
    pass


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_value(key): _value(value) for key, value in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        if any(keyword.arg is None for keyword in node.keywords):
            raise _NotALiteral
        return {keyword.arg: _value(keyword.value) for keyword in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    raise _NotALiteral


def parse_config_text(text: str) -> dict[str, Any]:
    """The top-level `name = <literal>` assignments of a config's source text (others are skipped)."""
    try:
        module = ast.parse(text)
    except SyntaxError:
        return {}
    config = {}
    for statement in module.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            continue
        try:
            config[statement.targets[0].id] = _value(statement.value)
        except _NotALiteral:
            continue
    return config
