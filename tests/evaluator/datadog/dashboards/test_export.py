"""export: a dashboard as Datadog returns it, back to a definition file's content."""

from __future__ import annotations

import json

from evaluator.datadog.dashboards.definitions import Definition, marked
from evaluator.datadog.dashboards.export import export_dashboard
from evaluator.datadog.dashboards.plan import normalize_dashboard
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


def test_export_drops_what_datadog_sets_and_our_marker() -> None:
    path = REPO_DASHBOARDS / "datadog" / "evaluation-overview.json"
    original = json.loads(path.read_text())
    remote = marked(Definition("dashboard", "evaluation-overview", path, original))
    remote |= {"id": "abc-def-ghi", "author_handle": "a@example.org", "url": "/dashboard/abc",
               "created_at": "2026-01-01T00:00:00+00:00", "is_read_only": False,
               "notify_list": None}  # fmt: skip
    remote["widgets"][0]["id"] = 1234
    remote["widgets"][0]["definition"]["widgets"][0]["id"] = 5678
    exported = export_dashboard(remote)
    # the definition as apply compares it (empty lists and nulls are the same as absent)
    assert exported == normalize_dashboard(original)
    assert exported["description"] == original["description"]
    assert (
        exported["widgets"][0]["definition"]["widgets"][0]
        == normalize_dashboard(original)["widgets"][0]["definition"]["widgets"][0]
    )
    text = json.dumps(exported)
    assert "managed-by" not in text
    assert not {"id", "author_handle", "url", "created_at", "is_read_only"} & exported.keys()
    assert '"id"' not in text
