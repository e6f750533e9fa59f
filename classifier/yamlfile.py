"""The project's one reader of hand-edited YAML: safe, and a key written twice is an error.

Plain YAML keeps the last of two equal keys silently, so a rule edited by hand (an urgency rule's
second ``keywords:``, a dispatch rule's second ``none:``) would lose half of itself without a word.
It lives here because ``classifier`` is the package that imports nothing from the others; the
core, dispatch and escalation read their files through it too.
"""

from __future__ import annotations

from typing import Any

import yaml


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"第 {line} 行：键「{key}」重复（同一层只能写一次）", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """Parse YAML text (safe tags only); raises ``yaml.YAMLError`` on a duplicate key, with its line."""
    return yaml.load(text, Loader=_StrictLoader)
