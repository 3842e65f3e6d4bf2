"""Field paths into parsed JSON examples (``messages[2].content``), for findings and scans."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

__all__ = ["STRUCTURAL_KEYS", "iter_text_fields", "join_field"]

# Keys whose values are structure, not content: tool-call ids look random by design and would
# trip the entropy check, and roles/types are fixed vocabularies.
STRUCTURAL_KEYS = frozenset({"role", "type", "id", "tool_call_id", "weight"})


def iter_text_fields(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(field_path, text)`` for every content string of a parsed JSON value.

    Paths look like ``messages[2].content`` or ``tools[0].function.description``; structural
    fields (roles, types, ids) are skipped.

    >>> list(iter_text_fields({"messages": [{"role": "user", "content": "hi"}]}))
    [('messages[0].content', 'hi')]
    """
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_text_fields(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in STRUCTURAL_KEYS and isinstance(item, str):
                continue
            yield from iter_text_fields(item, join_field(path, str(key)))


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRINTABLE_KEY = re.compile(r"^[A-Za-z_][\w-]{0,39}$")


@lru_cache(maxsize=4096)
def join_field(path: str, key: str) -> str:
    """Append an object key to a field path: ``a.b``, ``a["odd-key"]``, or ``a[<key>]`` for a key
    that is not a plain name (it could itself be sensitive, so it is not echoed)."""
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f'{path}["{key}"]' if _PRINTABLE_KEY.match(key) else f"{path}[<key>]"
