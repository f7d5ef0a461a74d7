"""The one module that talks to Datadog: dashboards and monitors through datadog-api-client.

Bodies go out as the client's models (built by :mod:`evaluator.datadog.dashboards.schema`, so a
body Datadog would reject never leaves) and come back as plain JSON-like dicts. Every
failure becomes a :class:`DatadogApiError` that names the call, the status and what to do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from evaluator.datadog import api
from evaluator.datadog.dashboards.definitions import MANAGED_TAG
from evaluator.datadog.dashboards.errors import DatadogApiError
from evaluator.datadog.dashboards.schema import to_model
from evaluator.datadog.dashboards.settings import DatadogSettings

T = TypeVar("T")
PAGE_SIZE = 100

# What each refusal means for dashboards and monitors, and what to check.
STATUS_HINTS: dict[int | str, str] = {
    401: "{what}: Datadog refused the credentials ({status} from {url}). Check DD_API_KEY "
    "and DD_APP_KEY, that the application key may read and write dashboards and monitors, "
    "and that DD_SITE is your account's site. Datadog said: {said}",
    404: "{what}: not found ({status} from {url}): {said}",
    429: "{what}: rate limited by Datadog ({status}); wait and run again. Datadog said: {said}",
    api.SERVER_ERROR: "{what}: Datadog failed with {status} ({said}). Calls before this one "
    "were applied and recorded in the lock file; run apply again to finish.",
    api.OTHER: "{what}: Datadog rejected the request ({status}): {said}",
}
STATUS_HINTS[403] = STATUS_HINTS[401]


class DatadogClient:
    """Dashboards and monitors API calls, as dicts in and dicts out."""

    def __init__(self, settings: DatadogSettings) -> None:
        from datadog_api_client.v1.api.dashboards_api import DashboardsApi
        from datadog_api_client.v1.api.monitors_api import MonitorsApi

        self._base_url = settings.base_url
        self._api_client = api.api_client(
            settings.base_url, {"apiKeyAuth": settings.api_key, "appKeyAuth": settings.app_key}
        )
        self._dashboards = DashboardsApi(self._api_client)  # type: ignore[no-untyped-call]
        self._monitors = MonitorsApi(self._api_client)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._api_client.close()

    def __enter__(self) -> DatadogClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- dashboards ---------------------------------------------------------------------

    def list_dashboards(self) -> list[dict[str, Any]]:
        """Summaries (id, title, description, ...) of every custom dashboard."""
        found: list[dict[str, Any]] = []
        while True:
            page = self._call(
                "list dashboards",
                functools.partial(
                    self._dashboards.list_dashboards, count=PAGE_SIZE, start=len(found)
                ),
            )
            batch = _as_dict(page).get("dashboards") or []
            found.extend(batch)
            if len(batch) < PAGE_SIZE:
                return found

    def get_dashboard(self, dashboard_id: str) -> dict[str, Any] | None:
        """The dashboard, or None when Datadog has no dashboard with that id (404)."""
        return self._get(
            f"get dashboard {dashboard_id}",
            lambda: self._dashboards.get_dashboard(dashboard_id),
        )

    def create_dashboard(self, body: dict[str, Any]) -> dict[str, Any]:
        model = self._model(body, "dashboard", "create dashboard")
        return _as_dict(
            self._call("create dashboard", lambda: self._dashboards.create_dashboard(model))
        )

    def update_dashboard(self, dashboard_id: str, body: dict[str, Any]) -> dict[str, Any]:
        what = f"update dashboard {dashboard_id}"
        model = self._model(body, "dashboard", what)
        return _as_dict(
            self._call(what, lambda: self._dashboards.update_dashboard(dashboard_id, model))
        )

    # --- monitors -----------------------------------------------------------------------

    def list_managed_monitors(self) -> list[dict[str, Any]]:
        """Every monitor tagged ``managed-by:tau2observe``."""
        found: list[dict[str, Any]] = []
        page = 0
        while True:
            batch = self._call(
                "list monitors",
                functools.partial(
                    self._monitors.list_monitors,
                    monitor_tags=MANAGED_TAG,
                    page=page,
                    page_size=PAGE_SIZE,
                ),
            )
            items = [_as_dict(m) for m in batch]
            found.extend(items)
            if len(items) < PAGE_SIZE:
                return found
            page += 1

    def get_monitor(self, monitor_id: int) -> dict[str, Any] | None:
        return self._get(
            f"get monitor {monitor_id}", lambda: self._monitors.get_monitor(monitor_id)
        )

    def create_monitor(self, body: dict[str, Any]) -> dict[str, Any]:
        model = self._model(body, "monitor", "create monitor")
        return _as_dict(self._call("create monitor", lambda: self._monitors.create_monitor(model)))

    def update_monitor(self, monitor_id: int, body: dict[str, Any]) -> dict[str, Any]:
        what = f"update monitor {monitor_id}"
        model = self._model(body, "monitor_update", what)
        return _as_dict(self._call(what, lambda: self._monitors.update_monitor(monitor_id, model)))

    # --- plumbing -----------------------------------------------------------------------

    def _model(self, body: dict[str, Any], name: Any, what: str) -> Any:
        try:
            return to_model(body, name)
        except ValueError as exc:
            raise DatadogApiError(f"{what}: the body does not fit the API model: {exc}") from exc

    def _get(self, what: str, call: Callable[[], Any]) -> dict[str, Any] | None:
        try:
            return _as_dict(self._call(what, call))
        except DatadogApiError as exc:
            if exc.status == 404:
                return None
            raise

    def _call(self, what: str, request: Callable[[], T]) -> T:
        try:
            return api.call(request)
        except api.Refused as refused:
            message = api.explain(
                STATUS_HINTS, refused.status, what=what, said=refused.said, url=self._base_url
            )
            raise DatadogApiError(message, status=refused.status) from None
        except api.Unreachable as exc:
            raise DatadogApiError(
                f"{what}: cannot reach Datadog at {self._base_url}: {exc}"
            ) from None


def _as_dict(model: Any) -> dict[str, Any]:
    """A response model as JSON-like data (datetimes as ISO strings)."""
    from datadog_api_client.model_utils import data_to_dict

    data = data_to_dict(model)  # type: ignore[no-untyped-call]
    return data if isinstance(data, dict) else {}
