"""Spans read back from OTLP JSON lines files (``--trace-file``), as flat dicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def otlp_spans(path: Path) -> list[dict[str, Any]]:
    spans = []
    for line in path.read_text().splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            service = next(
                a["value"]["stringValue"]
                for a in resource["resource"]["attributes"]
                if a["key"] == "service.name"
            )
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    attrs = {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
                    spans.append({**span, "service": service, "attrs": attrs})
    return spans
