"""Keras's ``get(identifier)`` rule for layer arguments (regularizers, constraints), private.

A name looks up a class and makes it with its defaults; a dict ``{"class_name": ..., "config": {...}}`` (Keras's
serialized form) makes that class from the config; a class is made with its defaults; an instance or any
other callable is returned as is; ``None`` gives ``None``; anything else raises ``ValueError`` with Keras's
message ("Could not interpret <kind> identifier: ...").
"""

from __future__ import annotations

from typing import Any, Mapping


def keras_get(identifier, by_name: Mapping[str, type], kind: str) -> Any:
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls = by_name.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Could not interpret {kind} identifier: {identifier}")
        return cls.from_config(identifier.get("config") or {})
    if isinstance(identifier, str):
        cls = by_name.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret {kind} identifier: {identifier}")
        return cls()
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier}")
