"""A domain folder on disk, and where domain folders are looked for. No tau2 here.

A domain folder holds one tau2 domain; the folder's name is the domain's name::

    my_domain/
      tools.py           exports Database (a tau2 DB model) and Tools (a tau2 ToolKitBase)
      db.json            the initial database, validated by Database
      policy.md          the policy the agent is given
      tasks.json         a list of tau2 tasks
      split_tasks.json   optional: {"base": [ids], "train": [ids], "test": [ids]}

``--domain NAME`` is looked up in tau2's own domains, then the domains built into
tau2observe (folders beside this module), then each folder of the search path
``TAU2OBSERVE_DOMAINS`` (``os.pathsep``-separated, each holding domain folders), in
that order. ``--domain PATH`` loads the folder at PATH.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxy.errors import UsageError

ENV_DOMAINS = "TAU2OBSERVE_DOMAINS"
"""Folders that hold domain folders, separated by ``os.pathsep``."""

BUILT_IN_ROOT = Path(__file__).parent

TOOLS_FILE = "tools.py"
DB_FILE = "db.json"
POLICY_FILE = "policy.md"
TASKS_FILE = "tasks.json"
SPLITS_FILE = "split_tasks.json"
REQUIRED_FILES = (TOOLS_FILE, DB_FILE, POLICY_FILE, TASKS_FILE)

# A task may say what the user asks for, granted in full: the writes that carry it out.
# tau2 ignores the key; the always-approve sample agent performs these actions.
GUEST_REQUEST_KEY = "guest_request"


class DomainFolderError(UsageError):
    """A folder that cannot be loaded as a domain; the message names the folder and file."""


@dataclass(frozen=True)
class DomainFolder:
    name: str
    path: Path

    @classmethod
    def at(cls, path: Path) -> DomainFolder:
        """The domain folder at ``path``; raises DomainFolderError naming what is missing."""
        path = path.expanduser().resolve()
        if not path.is_dir():
            raise DomainFolderError(f"{path}: not a folder")
        missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
        if missing:
            raise DomainFolderError(
                f"{path}: not a domain folder, missing {', '.join(missing)} "
                f"(a domain folder holds {', '.join(REQUIRED_FILES)} and optionally "
                f"{SPLITS_FILE})"
            )
        if not path.name.isidentifier():
            raise DomainFolderError(
                f"{path}: the folder's name is the domain's name and must be a Python "
                f"identifier (letters, digits, underscores), not {path.name!r}"
            )
        return cls(path.name, path)

    @property
    def built_in(self) -> bool:
        return self.path.parent == BUILT_IN_ROOT.resolve()

    def file(self, name: str) -> Path:
        return self.path / name

    def policy(self) -> str:
        return self.file(POLICY_FILE).read_text(encoding="utf-8")

    def raw_tasks(self) -> list[Any]:
        """tasks.json as parsed JSON; raises DomainFolderError when it is not a JSON list."""
        data = _read_json(self.file(TASKS_FILE))
        if not isinstance(data, list):
            raise DomainFolderError(f"{self.file(TASKS_FILE)}: must hold a JSON list of tasks")
        return data

    def raw_db(self) -> Any:
        return _read_json(self.file(DB_FILE))

    def splits(self) -> dict[str, list[str]] | None:
        """split_tasks.json, or None without one; raises DomainFolderError when malformed."""
        path = self.file(SPLITS_FILE)
        if not path.is_file():
            return None
        data = _read_json(path)
        if not isinstance(data, dict) or not all(
            isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in data.values()
        ):
            raise DomainFolderError(f"{path}: must map each split name to a list of task ids")
        return {str(name): list(ids) for name, ids in data.items()}

    def guest_requests(self) -> dict[str, list[Mapping[str, Any]]]:
        """Task id -> the actions that grant the user's request as asked (if recorded)."""
        requests: dict[str, list[Mapping[str, Any]]] = {}
        for task in self.raw_tasks():
            if isinstance(task, dict) and isinstance(task.get(GUEST_REQUEST_KEY), list):
                requests[str(task.get("id"))] = list(task[GUEST_REQUEST_KEY])
        return requests


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DomainFolderError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc


def search_path(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The folders named by TAU2OBSERVE_DOMAINS, in order (empty entries skipped)."""
    raw = (os.environ if environ is None else environ).get(ENV_DOMAINS, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def looks_like_path(spec: str) -> bool:
    """``--domain`` values with a path separator, or starting with ``.`` or ``~``, are paths."""
    return os.sep in spec or "/" in spec or spec.startswith((".", "~"))


def candidates(roots: Sequence[Path]) -> dict[str, Path]:
    """Domain name -> folder, for every domain folder directly under ``roots`` (first wins)."""
    found: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            if child.is_dir() and (child / TOOLS_FILE).is_file() and (child / TASKS_FILE).is_file():
                found.setdefault(child.name, child)
    return found


def discoverable(environ: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Built-in domains first, then those on the search path."""
    return candidates([BUILT_IN_ROOT, *search_path(environ)])
