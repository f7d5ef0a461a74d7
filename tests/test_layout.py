"""Tests mirror the source: ``pkg/sub/mod.py`` is tested in ``tests/pkg/sub/test_mod.py``.

A module without its own test file is listed in :data:`EXEMPT` with the reason; at least
90% of the modules have their own file. A new module without one fails here, naming the
file to write.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("proxy", "evaluator")
FLOOR = 0.90

EXEMPT: dict[str, str] = {
    "proxy/errors.py": "exception declarations; each is asserted where it is raised",
    "proxy/semconv.py": "attribute-key constants, most re-exported from OTel's semconv "
    "package; the span tests assert the keys on real spans",
    "evaluator/errors.py": "exception declarations; each is asserted where it is raised",
    "evaluator/attributes.py": "attribute-key constants; asserted on real spans and metrics "
    "in test_telemetry.py and test_evaluation_e2e.py",
    "evaluator/datadog/dashboards/errors.py": "exception declarations; asserted in "
    "test_apply.py and test_validation.py",
    "evaluator/datadog/push/errors.py": "exception declarations; asserted in the push tests",
}


def modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name not in ("__init__.py", "__main__.py"):
                found.append(path.relative_to(ROOT).as_posix())
    return found


def expected_test_file(module: str) -> Path:
    path = Path(module)
    return ROOT / "tests" / path.parent / f"test_{path.name}"


def test_every_module_has_its_test_file_or_a_reason() -> None:
    missing = [m for m in modules() if m not in EXEMPT and not expected_test_file(m).exists()]
    assert not missing, (
        "modules without their test file (write it, or add a reason to EXEMPT):\n"
        + "\n".join(f"  {m} -> {expected_test_file(m).relative_to(ROOT)}" for m in missing)
    )


def test_exemptions_name_real_modules_without_test_files() -> None:
    known = set(modules())
    stale = [m for m in EXEMPT if m not in known or expected_test_file(m).exists()]
    assert not stale, f"EXEMPT lists modules that are gone or now have a test file: {stale}"
    assert all(reason.strip() for reason in EXEMPT.values())


def test_at_least_ninety_percent_of_modules_have_their_own_test_file() -> None:
    all_modules = modules()
    covered = [m for m in all_modules if expected_test_file(m).exists()]
    assert len(covered) / len(all_modules) >= FLOOR, (len(covered), len(all_modules))
