"""otel-collector.yaml against the collector built from collector/manifest.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.collector.conftest import CONFIG, MANIFEST, run_collector

KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def component_type(name: str) -> str:
    """`attributes/drop-credentials` -> `attributes`."""
    return name.split("/", 1)[0]


def config_types() -> dict[str, set[str]]:
    config = load(CONFIG)
    return {kind: {component_type(n) for n in config.get(kind) or {}} for kind in KINDS}


def test_validate_accepts_the_config() -> None:
    result = run_collector("validate", "--config", str(CONFIG))
    assert result.returncode == 0, result.stderr + result.stdout


def test_validate_accepts_every_documented_exporter_choice() -> None:
    result = run_collector(
        "validate",
        "--config",
        str(CONFIG),
        env={
            "COLLECTOR_TRACES_EXPORTERS": "[datadog, otlp_grpc, debug]",
            "COLLECTOR_METRICS_EXPORTERS": "[datadog, otlp_grpc, prometheus, debug]",
        },
    )
    assert result.returncode == 0, result.stderr + result.stdout


def _broken(tmp_path: Path, edit: str, replacement: str) -> Path:
    text = CONFIG.read_text()
    assert edit in text, f"the config no longer contains {edit!r}"
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(edit, replacement, 1))
    return path


@pytest.mark.parametrize(
    ("edit", "replacement", "message"),
    [
        # A pipeline naming a processor that is not defined.
        (
            "processors: [memory_limiter, attributes/drop-credentials,",
            "processors: [memory_limiter, attributes/nope,",
            "attributes/nope",
        ),
        # A key the datadog exporter removed (research: load fails with a rename error).
        (
            "      resource_attributes_as_tags: true\n",
            "      resource_attributes_as_tags: true\n      send_monotonic_counter: true\n",
            "send_monotonic_counter",
        ),
        # An invalid histogram mode.
        ("mode: distributions", "mode: buckets", "buckets"),
        # memory_limiter without limits.
        ("    limit_mib: 512\n    spike_limit_mib: 128\n", "", "memory"),
    ],
    ids=["undefined-processor", "removed-datadog-key", "bad-histogram-mode", "no-memory-limit"],
)
def test_validate_rejects_a_broken_config(
    tmp_path: Path, edit: str, replacement: str, message: str
) -> None:
    result = run_collector("validate", "--config", str(_broken(tmp_path, edit, replacement)))
    assert result.returncode != 0
    assert message in result.stderr + result.stdout


def test_validate_requires_a_datadog_api_key() -> None:
    result = run_collector("validate", "--config", str(CONFIG), env={"DD_API_KEY": ""})
    assert result.returncode != 0
    assert "api" in (result.stderr + result.stdout).lower()


def test_manifest_lists_exactly_the_components_the_config_uses() -> None:
    result = run_collector("components")
    assert result.returncode == 0, result.stderr
    built = yaml.safe_load(result.stdout)
    built_types = {kind: {c["name"] for c in built.get(kind) or []} for kind in KINDS}
    used = config_types()
    for kind in KINDS:
        assert built_types[kind] == used[kind], kind


def test_manifest_pins_one_release() -> None:
    manifest = load(MANIFEST)
    version = manifest["dist"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    for kind in (*KINDS, "providers"):
        for entry in manifest.get(kind) or []:
            module, module_version = entry["gomod"].split()
            # Stable core modules (confmap providers) carry their own 1.x numbers.
            if module_version.startswith("v0."):
                assert module_version == f"v{version}", module


def test_pipelines_start_with_memory_limiter_and_end_with_batch() -> None:
    for name, pipeline in load(CONFIG)["service"]["pipelines"].items():
        processors = pipeline["processors"]
        assert processors[0] == "memory_limiter", name
        assert processors[-1] == "batch", name
        scrubbing = [p for p in processors if component_type(p) in ("attributes", "redaction")]
        assert scrubbing, name
        assert processors.index(scrubbing[0]) == 1, name


def test_receivers_listen_on_all_interfaces_by_default() -> None:
    protocols = load(CONFIG)["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":-0.0.0.0:4317}")
    assert protocols["http"]["endpoint"].endswith(":-0.0.0.0:4318}")


def test_datadog_credentials_come_from_the_environment() -> None:
    api = load(CONFIG)["exporters"]["datadog"]["api"]
    assert api["key"] == "${env:DD_API_KEY}"
    assert api["site"].startswith("${env:DD_SITE")
