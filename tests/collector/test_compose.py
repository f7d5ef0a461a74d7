"""docker-compose.yml is valid and agrees with otel-collector.yaml and the manifest.

These checks read the files; they need no Docker engine. `docker compose config`, the
authoritative parser, runs too where the Compose plugin is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.collector.conftest import CONFIG, MANIFEST

REPO = CONFIG.parent
COMPOSE = REPO / "docker-compose.yml"
COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib"
PYTHON_SERVICES = ("agent", "proxy", "evaluator")
# ${env:NAME:-default} -> default
DEFAULT = re.compile(r"\$\{env:[A-Z_]+:-([^}]*)\}")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = compose["services"]
    return result


def default_port(endpoint: str) -> int:
    match = DEFAULT.fullmatch(endpoint)
    value = match.group(1) if match else endpoint
    return int(value.rsplit(":", 1)[1])


def published(service: dict[str, Any]) -> dict[int, int]:
    """container port -> host port."""
    ports = {}
    for entry in service.get("ports", []):
        host, container = str(entry).split(":")[-2:]
        ports[int(container)] = int(host)
    return ports


def test_collector_image_is_the_manifest_release(services: dict[str, Any]) -> None:
    image, tag = services["collector"]["image"].rsplit(":", 1)
    assert image == COLLECTOR_IMAGE
    assert tag == load(MANIFEST)["dist"]["version"]


def test_collector_runs_this_config_read_only(services: dict[str, Any]) -> None:
    collector = services["collector"]
    config_flags = [a for a in collector["command"] if a.startswith("--config=")]
    assert len(config_flags) == 1
    mounted = config_flags[0].removeprefix("--config=")
    assert f"./otel-collector.yaml:{mounted}:ro" in collector["volumes"]
    # Same feature gates as the tests run the built collector with.
    from tests.collector.conftest import APM_STATS_GATE

    assert APM_STATS_GATE in collector["command"]


def test_published_ports_match_the_config(services: dict[str, Any]) -> None:
    config = load(CONFIG)
    protocols = config["receivers"]["otlp"]["protocols"]
    expected = {
        default_port(protocols["grpc"]["endpoint"]),
        default_port(protocols["http"]["endpoint"]),
        default_port(config["extensions"]["health_check"]["endpoint"]),
    }
    ports = published(services["collector"])
    assert expected <= set(ports), (expected, ports)
    # The grafana profile's Prometheus scrapes the prometheus exporter's port.
    prometheus_port = default_port(config["exporters"]["prometheus"]["endpoint"])
    scrape = load(REPO / "dashboards" / "grafana" / "prometheus.yml")
    targets = [
        t for job in scrape["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    ]
    assert f"collector:{prometheus_port}" in targets


def test_datadog_settings_come_from_the_environment(services: dict[str, Any]) -> None:
    environment = services["collector"]["environment"]
    assert environment["DD_API_KEY"].startswith("${DD_API_KEY")
    assert environment["DD_SITE"].startswith("${DD_SITE")


def _urls(value: str) -> list[str]:
    return re.findall(r"[a-z]+://[^\s'\",]+", value)


def test_services_reach_each_other_by_name(services: dict[str, Any]) -> None:
    config = load(CONFIG)
    grpc_port = default_port(config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"])
    references = []
    for name in PYTHON_SERVICES:
        service = services[name]
        endpoint = service["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
        assert urlsplit(endpoint).port == grpc_port, name
        for value in [*service["environment"].values(), *service["command"]]:
            references += _urls(str(value))
    otlp_backend = DEFAULT.fullmatch(config["exporters"]["otlp_grpc"]["endpoint"])
    assert otlp_backend is not None
    references.append("grpc://" + otlp_backend.group(1))
    hosts = {urlsplit(url).hostname for url in references}
    assert hosts, "no service references found"
    assert hosts <= set(services), hosts - set(services)


def test_every_long_running_service_has_a_health_check(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name in ("evaluator", "collector-ready"):
            continue  # one-shot jobs
        if name == "collector":
            # No shell in the image: collector-ready polls its health_check instead.
            gate = services["collector-ready"]["command"][0]
            assert "collector:13133" in gate
            continue
        assert "healthcheck" in service, name


def test_dependents_wait_for_a_healthy_collector(services: dict[str, Any]) -> None:
    for name in PYTHON_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["collector-ready"]["condition"] == "service_completed_successfully"
    assert services["evaluator"]["depends_on"]["proxy"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["agent"]["condition"] == "service_healthy"


def test_profiles_add_jaeger_and_grafana(services: dict[str, Any]) -> None:
    assert services["jaeger"]["profiles"] == ["jaeger"]
    assert {s for s, d in services.items() if "grafana" in d.get("profiles", [])} == {
        "prometheus",
        "grafana",
    }
    mounts = services["grafana"]["volumes"]
    assert "./dashboards/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    for mount in [*mounts, *services["prometheus"]["volumes"]]:
        assert (REPO / mount.split(":")[0]).exists(), mount


def test_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        if "build" in service:
            continue
        assert re.search(r":v?\d+\.\d+\.\d+$", image), f"{name}: {image}"


def _compose_command() -> list[str]:
    """Compose v2 (the docker plugin) or, failing that, Debian's docker-compose (v1.29,
    which reads the same Compose Specification); ``make test`` installs the latter."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is not None:
        return [legacy]
    pytest.skip("no Docker Compose here (neither `docker compose` nor `docker-compose`)")


def _compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    profiles = ["--profile", "jaeger", "--profile", "grafana"]
    return subprocess.run(
        [*_compose_command(), "-f", str(path), *profiles, "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"DD_API_KEY": "0" * 32, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        check=False,
    )


def test_docker_compose_accepts_the_file() -> None:
    result = _compose_config(COMPOSE)
    assert result.returncode == 0, result.stderr


def test_docker_compose_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("depends_on:", "depends_onn:", 1))
    result = _compose_config(broken)
    assert result.returncode != 0
    assert "depends_onn" in result.stderr
