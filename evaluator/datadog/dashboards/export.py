"""``export``: an existing dashboard as a definition file, so hand-made changes come back.

The result is what ``apply`` would send minus what Datadog sets itself (ids, author,
timestamps, url, widget ids) and minus our marker, which ``apply`` adds again.
"""

from __future__ import annotations

from typing import Any

from evaluator.datadog.dashboards.definitions import unmarked
from evaluator.datadog.dashboards.plan import normalize_dashboard


def export_dashboard(remote: dict[str, Any]) -> dict[str, Any]:
    return unmarked("dashboard", normalize_dashboard(remote))
