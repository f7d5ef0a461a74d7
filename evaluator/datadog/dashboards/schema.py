"""Check definitions with datadog-api-client's own models, and catch what they let through.

The client accepts, without a word, things Datadog's API rejects: a widget of an unknown
``type`` or a request with an unknown enum value turns the whole widget definition into
an "unparsed" object; an unknown field is dropped (``discard_unknown_keys``). This module
deserializes a body into the model, then walks model and JSON side by side and reports
each such place by JSON path, with the closest candidate's own complaint where it can.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal

ModelName = Literal["dashboard", "monitor", "monitor_update"]


@functools.cache
def _api_client() -> Any:
    from datadog_api_client import ApiClient, Configuration

    # No credentials needed: this client only deserializes.
    return ApiClient(Configuration(api_key={}, discard_unknown_keys=True))  # type: ignore[no-untyped-call]


def model_class(name: ModelName) -> Any:
    if name == "dashboard":
        from datadog_api_client.v1.model.dashboard import Dashboard

        return Dashboard
    if name == "monitor":
        from datadog_api_client.v1.model.monitor import Monitor

        return Monitor
    from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest

    return MonitorUpdateRequest


def to_model(body: dict[str, Any], name: ModelName) -> Any:
    """``body`` as the client's model; ``ValueError`` listing the problems if it does not fit."""
    model, problems = _parse(body, model_class(name), "$")
    if problems:
        raise ValueError("; ".join(problems))
    return model


def model_problems(body: Any, name: ModelName) -> list[str]:
    """Every place where ``body`` does not fit the model, as ``"$.path: what"`` strings."""
    return _problems(body, model_class(name), "$")


def _deserialize(raw: Any, cls: Any) -> Any:
    return _api_client().deserialize(json.dumps(raw), (cls,), True)


def _problems(raw: Any, cls: Any, path: str) -> list[str]:
    return _parse(raw, cls, path)[1]


def _parse(raw: Any, cls: Any, path: str) -> tuple[Any, list[str]]:
    from datadog_api_client.exceptions import OpenApiException

    try:
        model = _deserialize(raw, cls)
    except (OpenApiException, TypeError, ValueError, AttributeError, KeyError) as exc:
        return None, [f"{path}: {_first_line(exc)}"]
    out: list[str] = []
    _walk(model, raw, path, out)
    return model, out


def _walk(model: Any, raw: Any, path: str, out: list[str], expected: Any = None) -> None:
    from datadog_api_client.model_utils import (
        ModelComposed,
        ModelNormal,
        ModelSimple,
        UnparsedObject,
    )

    if isinstance(model, ModelComposed):
        instance = model.get_oneof_instance()  # type: ignore[no-untyped-call]
        if isinstance(instance, UnparsedObject):
            out.extend(_diagnose_one_of(type(model), raw, path))
        else:
            _walk(instance, raw, path, out)
    elif isinstance(model, UnparsedObject):
        cls = _single_class(expected)
        found = _problems(raw, cls, path) if cls is not None else []
        out.extend(found or [f"{path}: does not match the model"])
    elif isinstance(model, ModelSimple):
        if model._unparsed:
            allowed = sorted(str(v) for v in type(model).allowed_values)
            out.append(f"{path}: unknown value {model.value!r}; expected one of {allowed}")
    elif isinstance(model, ModelNormal):
        if not isinstance(raw, dict):
            return
        python_name = {json_name: py for py, json_name in model.attribute_map.items()}
        for key, value in raw.items():
            if key not in python_name:
                known = sorted(python_name)
                out.append(
                    f"{path}.{key}: unknown field for {type(model).__name__} (known: {known})"
                )
                continue
            child = model._data_store.get(python_name[key])
            if child is not None:
                declared = model.openapi_types.get(python_name[key])
                _walk(child, value, f"{path}.{key}", out, declared)
    elif isinstance(model, list) and isinstance(raw, list):
        item_type = expected[0] if isinstance(expected, tuple) and expected else None
        item_expected = tuple(item_type) if isinstance(item_type, list) else None
        for i, (item, raw_item) in enumerate(zip(model, raw, strict=False)):
            _walk(item, raw_item, f"{path}[{i}]", out, item_expected)
    elif isinstance(model, dict) and isinstance(raw, dict):
        for key, item in model.items():
            _walk(item, raw.get(key), f"{path}.{key}", out)


def _diagnose_one_of(composed: Any, raw: Any, path: str) -> list[str]:
    """Why ``raw`` matched none of ``composed``'s oneOf classes: the closest one's problems."""
    candidates = [c for c in composed._composed_schemas.get("oneOf", []) if isinstance(c, type)]
    by_type = _classes_by_type(candidates)
    if by_type and isinstance(raw, dict) and "type" in raw:
        kind = raw["type"]
        if kind not in by_type:
            return [f"{path}.type: unknown type {kind!r}; expected one of {sorted(by_type)}"]
        candidates = by_type[kind]
    best: list[str] | None = None
    for candidate in candidates:
        found = _problems(raw, candidate, path)
        if found and (best is None or len(found) < len(best)):
            best = found
    names = ", ".join(c.__name__ for c in candidates)
    return best or [f"{path}: matches none of {names}"]


def _classes_by_type(candidates: list[Any]) -> dict[str, list[Any]]:
    """oneOf candidates keyed by the values their ``type`` enum allows (widgets, queries)."""
    from datadog_api_client.model_utils import ModelSimple

    by_type: dict[str, list[Any]] = {}
    for candidate in candidates:
        declared = getattr(candidate, "openapi_types", {}).get("type")
        enum = _single_class(declared)
        if enum is not None and issubclass(enum, ModelSimple):
            for value in enum.allowed_values:
                by_type.setdefault(str(value), []).append(candidate)
    return by_type


def _single_class(declared: Any) -> Any:
    from datadog_api_client.model_utils import OpenApiModel

    if isinstance(declared, tuple) and len(declared) >= 1:
        first = declared[0]
        if isinstance(first, type) and issubclass(first, OpenApiModel):
            return first
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
