"""The one module that talks to Datadog's Metrics API, through datadog-api-client.

Each :class:`~evaluator.datadog.push.payloads.Batch` becomes the client's request model
(``MetricPayload`` for ``/api/v2/series``, ``DistributionPointsPayload`` for
``/api/v1/distribution_points``) and goes out deflated, with only ``DD-API-KEY``. Rate
limits (429) and server errors (5xx) are retried a bounded number of times, waiting as
``Retry-After`` or ``X-RateLimit-Reset`` asks, else backing off; every other failure
becomes a :class:`MetricsApiError` that names the request, the status and what to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from evaluator.datadog import api
from evaluator.datadog.push.errors import MetricsApiError
from evaluator.datadog.push.payloads import ENDPOINT_PATHS, Batch
from evaluator.datadog.push.settings import PushSettings

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

# What each refusal means for a metrics push, and what to check.
STATUS_HINTS: dict[int | str, str] = {
    401: "{what}: Datadog refused the API key ({status} from {url}). Check that DD_API_KEY "
    "is an API key (not an application key) of the organization on DD_SITE={site}. "
    "Datadog said: {said}",
    413: "{what}: Datadog refused the body as too large ({status} from {url}): {raw_bytes} "
    "bytes, {compressed_bytes} deflated. A proxy on the way may have a lower limit. "
    "Datadog said: {said}",
    429: "{what}: rate limited by Datadog ({status} from {url}). Datadog said: {said}",
    api.SERVER_ERROR: "{what}: Datadog failed with {status} at {url}. Datadog said: {said}",
    api.OTHER: "{what}: Datadog rejected the request ({status} from {url}): {said}",
}
STATUS_HINTS[403] = STATUS_HINTS[401]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # the first try and three retries
    backoff_s: float = 1.0  # then 2, 4, ... when Datadog does not say how long to wait
    max_wait_s: float = 60.0  # a longer requested wait fails instead


def retry_delay(
    headers: Mapping[str, str], retry: int, policy: RetryPolicy, now: float | None = None
) -> float:
    """Seconds to wait before retry number ``retry`` (1-based), as the response asks."""
    lowered = {k.lower(): v for k, v in headers.items()}
    after = lowered.get("retry-after", "").strip()
    if after:
        try:
            return max(0.0, float(after))
        except ValueError:
            try:
                moment = parsedate_to_datetime(after).timestamp()
            except (TypeError, ValueError):
                pass
            else:
                return max(0.0, moment - (time.time() if now is None else now))
    reset = lowered.get("x-ratelimit-reset", "").strip()
    if reset:
        try:
            return max(0.0, float(reset))  # Datadog: seconds until the limit resets
        except ValueError:
            pass
    return float(policy.backoff_s * 2 ** (retry - 1))


class DatadogMetricsApi:
    """Sends batches; ``sleep`` is the seam tests use to see the waits without waiting."""

    def __init__(
        self,
        settings: PushSettings,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: tuple[float, float] = (10.0, 60.0),
    ) -> None:
        from datadog_api_client.v1.api.metrics_api import MetricsApi as MetricsApiV1
        from datadog_api_client.v2.api.metrics_api import MetricsApi as MetricsApiV2

        if settings.api_key is None:
            raise MetricsApiError("no DD_API_KEY: cannot send metrics (a dry run needs none)")
        self._settings = settings
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._client = api.api_client(
            settings.base_url, {"apiKeyAuth": settings.api_key}, timeout_s=timeout_s
        )
        self._v1 = MetricsApiV1(self._client)  # type: ignore[no-untyped-call]
        self._v2 = MetricsApiV2(self._client)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> DatadogMetricsApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, batch: Batch, what: str) -> None:
        """Send one batch, retrying rate limits and server errors; ``what`` names it."""
        call = self._call_for(batch)
        for attempt in range(1, self._retry.attempts + 1):
            status, headers, said = self._attempt(call, batch, what)
            if status is None:
                return
            if status not in RETRIED_STATUSES:
                raise MetricsApiError(self._explain(status, said, batch, what), status)
            if attempt == self._retry.attempts:
                raise MetricsApiError(
                    f"{self._explain(status, said, batch, what)} Gave up after {attempt} attempts.",
                    status,
                )
            delay = retry_delay(headers, attempt, self._retry)
            if delay > self._retry.max_wait_s:
                raise MetricsApiError(
                    f"{self._explain(status, said, batch, what)} Datadog asks to wait "
                    f"{delay:.0f} s, longer than {self._retry.max_wait_s:.0f} s; run again later.",
                    status,
                )
            log.warning(
                "%s: %s from %s; retrying in %.1f s (attempt %d of %d)",
                what,
                status,
                self._settings.base_url,
                delay,
                attempt + 1,
                self._retry.attempts,
            )
            self._sleep(delay)

    # --- plumbing -----------------------------------------------------------------------

    def _call_for(self, batch: Batch) -> Callable[[], Any]:
        if batch.endpoint == "series":
            from datadog_api_client.v2.model.metric_content_encoding import (
                MetricContentEncoding,
            )

            series_body = series_payload(batch)
            return lambda: self._v2.submit_metrics(
                body=series_body, content_encoding=MetricContentEncoding.DEFLATE
            )
        from datadog_api_client.v1.model.distribution_points_content_encoding import (
            DistributionPointsContentEncoding,
        )

        distribution_body = distribution_payload(batch)
        return lambda: self._v1.submit_distribution_points(
            body=distribution_body, content_encoding=DistributionPointsContentEncoding.DEFLATE
        )

    def _attempt(
        self, call: Callable[[], Any], batch: Batch, what: str
    ) -> tuple[int | None, Mapping[str, str], str]:
        """(None, ...) when accepted, else the status, response headers and Datadog's words."""
        try:
            answer = api.call(call)
        except api.Refused as refused:
            return refused.status, refused.headers, refused.said
        except api.Unreachable as exc:
            raise MetricsApiError(
                f"{what}: cannot reach Datadog at {self._settings.base_url} ({exc}). "
                "Check DD_SITE / DD_HOST and the network."
            ) from None
        errors = list(getattr(answer, "errors", None) or [])
        if errors:
            raise MetricsApiError(
                f"{what}: Datadog accepted the request but reported: {'; '.join(errors)}"
            )
        return None, {}, ""

    def _explain(self, status: int, said: str, batch: Batch, what: str) -> str:
        return api.explain(
            STATUS_HINTS,
            status,
            what=what,
            said=said,
            url=self._settings.base_url + ENDPOINT_PATHS[batch.endpoint],
            site=self._settings.site,
            raw_bytes=batch.raw_bytes,
            compressed_bytes=batch.compressed_bytes,
        )


def series_payload(batch: Batch) -> Any:
    """A ``/api/v2/series`` batch as the client's ``MetricPayload``."""
    from datadog_api_client.v2.model.metric_intake_type import MetricIntakeType
    from datadog_api_client.v2.model.metric_payload import MetricPayload
    from datadog_api_client.v2.model.metric_point import MetricPoint
    from datadog_api_client.v2.model.metric_series import MetricSeries

    return MetricPayload(
        series=[
            MetricSeries(
                metric=s["metric"],
                type=MetricIntakeType(s["type"]),  # type: ignore[no-untyped-call]
                points=[
                    MetricPoint(timestamp=p["timestamp"], value=p["value"]) for p in s["points"]
                ],
                tags=s["tags"],
            )
            for s in batch.series
        ]
    )


def distribution_payload(batch: Batch) -> Any:
    """A ``/api/v1/distribution_points`` batch as the client's ``DistributionPointsPayload``."""
    from datadog_api_client.v1.model.distribution_point import DistributionPoint
    from datadog_api_client.v1.model.distribution_points_payload import (
        DistributionPointsPayload,
    )
    from datadog_api_client.v1.model.distribution_points_series import DistributionPointsSeries
    from datadog_api_client.v1.model.distribution_points_type import DistributionPointsType

    return DistributionPointsPayload(
        series=[
            DistributionPointsSeries(
                metric=s["metric"],
                type=DistributionPointsType.DISTRIBUTION,
                points=[DistributionPoint(p) for p in s["points"]],  # type: ignore[no-untyped-call]
                tags=s["tags"],
            )
            for s in batch.series
        ]
    )
