"""The one module that talks to Datadog's Metrics API, through datadog-api-client.

Each :class:`~evaluator.push.payloads.Batch` becomes the client's request model
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

from evaluator.push.errors import MetricsApiError
from evaluator.push.payloads import ENDPOINT_PATHS, Batch
from evaluator.push.settings import PushSettings

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


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
        from datadog_api_client import ApiClient, Configuration
        from datadog_api_client.v1.api.metrics_api import MetricsApi as MetricsApiV1
        from datadog_api_client.v2.api.metrics_api import MetricsApi as MetricsApiV2

        if settings.api_key is None:
            raise MetricsApiError("no DD_API_KEY: cannot send metrics (a dry run needs none)")
        self._settings = settings
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        configuration = Configuration(  # type: ignore[no-untyped-call]
            host=settings.base_url,
            api_key={"apiKeyAuth": settings.api_key},
            enable_retry=False,  # retried here, bounded, with clear messages
            request_timeout=timeout_s,
        )
        self._client = ApiClient(configuration)
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
        from datadog_api_client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            answer = call()
        except ApiException as exc:
            if not exc.status:  # raised before any response, e.g. TLS failure
                raise MetricsApiError(
                    f"{what}: cannot reach Datadog at {self._settings.base_url}: {exc.reason}"
                ) from None
            return int(exc.status), dict(exc.headers or {}), _error_text(exc.body)
        except HTTPError as exc:
            raise MetricsApiError(
                f"{what}: cannot reach Datadog at {self._settings.base_url} "
                f"({type(exc).__name__}: {_reason(exc)}). Check DD_SITE / DD_HOST and the "
                "network."
            ) from None
        errors = list(getattr(answer, "errors", None) or [])
        if errors:
            raise MetricsApiError(
                f"{what}: Datadog accepted the request but reported: {'; '.join(errors)}"
            )
        return None, {}, ""

    def _explain(self, status: int, said: str, batch: Batch, what: str) -> str:
        base = self._settings.base_url
        path = ENDPOINT_PATHS[batch.endpoint]
        if status in (401, 403):
            return (
                f"{what}: Datadog refused the API key ({status} from {base}{path}). Check that "
                "DD_API_KEY is an API key (not an application key) of the organization on "
                f"DD_SITE={self._settings.site}. Datadog said: {said}"
            )
        if status == 413:
            return (
                f"{what}: Datadog refused the body as too large ({status} from {base}{path}): "
                f"{batch.raw_bytes} bytes, {batch.compressed_bytes} deflated. A proxy on the "
                f"way may have a lower limit. Datadog said: {said}"
            )
        if status == 429:
            return f"{what}: rate limited by Datadog (429 from {base}{path}). Datadog said: {said}"
        if status >= 500:
            return f"{what}: Datadog failed with {status} at {base}{path}. Datadog said: {said}"
        return f"{what}: Datadog rejected the request ({status} from {base}{path}): {said}"


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


def _error_text(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(str(e) for e in body["errors"]) or "no details"
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return str(body)[:300] if body else "no details"


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)  # MaxRetryError: the underlying connection error
    return str(reason if reason is not None else exc)
