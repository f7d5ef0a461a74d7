"""Small dashboard and monitor definitions built in code, for the validation tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluator.datadog.dashboards.definitions import Definition


def dashboard(widgets: list[dict[str, Any]], **extra: Any) -> Definition:
    body = {
        "title": "t",
        "layout_type": "ordered",
        "template_variables": [{"name": "agent", "prefix": "gen_ai.agent.name"}],
        "widgets": widgets,
        **extra,
    }
    return Definition("dashboard", "t", Path("dashboards/datadog/t.json"), body)


def timeseries(query: str, display_type: str = "line", kind: str = "timeseries") -> dict[str, Any]:
    return {
        "definition": {
            "type": kind,
            "requests": [
                {
                    "response_format": "timeseries",
                    "queries": [{"data_source": "metrics", "name": "a", "query": query}],
                    "formulas": [{"formula": "a"}],
                    "display_type": display_type,
                }
            ],
        }
    }


def monitor(query: str, message: str = "m") -> Definition:
    body = {
        "name": "n",
        "type": "query alert",
        "query": query,
        "message": message,
        "options": {"thresholds": {"critical": 1}},
    }
    return Definition("monitor", "m", Path("dashboards/monitors/m.json"), body)
