"""Copies of the built-in vacation_rental domain, to load from a path and to break."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evaluator.domains.folder import BUILT_IN_ROOT

_numbers = itertools.count()

TaskEdit = Callable[[list[dict[str, Any]]], None]


def copy_domain(root: Path, name: str = "rental_copy", edit: TaskEdit | None = None) -> Path:
    """A copy of vacation_rental under a name no other test uses (tau2's registry is global)."""
    target = root / f"{name}_{next(_numbers)}"
    shutil.copytree(
        BUILT_IN_ROOT / "vacation_rental",
        target,
        ignore=shutil.ignore_patterns("__pycache__", "__init__.py"),
    )
    if edit is not None:
        tasks = json.loads((target / "tasks.json").read_text())
        edit(tasks)
        (target / "tasks.json").write_text(json.dumps(tasks))
    return target


def task(tasks: list[dict[str, Any]], task_id: str) -> dict[str, Any]:
    return next(t for t in tasks if t["id"] == task_id)
