"""Domain folders into tau2's registry, at run time.

``resolve(spec)`` turns a ``--domain`` value (a name or a folder) into the name tau2
knows, registering the folder's environment, tasks and splits the first time.
Registering is idempotent per folder; a second folder with a name already taken is an
error that names both.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from loguru import logger

# before tau2: litellm would fetch its price list, tau2 would log at DEBUG
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
logger.disable("tau2")

from tau2.data_model.tasks import Task  # noqa: E402
from tau2.environment.db import DB  # noqa: E402
from tau2.environment.environment import Environment  # noqa: E402
from tau2.environment.toolkit import ToolKitBase  # noqa: E402
from tau2.registry import registry  # noqa: E402

from evaluator.domains.folder import (  # noqa: E402
    BUILT_IN_ROOT,
    DomainFolder,
    DomainFolderError,
    discoverable,
    looks_like_path,
)
from evaluator.errors import UnknownDomain  # noqa: E402

_lock = threading.Lock()
_loaded: dict[str, DomainFolder] = {}  # name -> the folder registered under it


def tau2_domains() -> list[str]:
    return list(registry.get_domains())


def known_domains() -> list[str]:
    """Every name ``--domain`` accepts without a path."""
    names = dict.fromkeys(tau2_domains())
    names.update(dict.fromkeys(discoverable()))
    return list(names)


def loaded_folder(name: str) -> DomainFolder | None:
    """The folder a domain was loaded from (None for tau2's own domains)."""
    with _lock:
        return _loaded.get(name)


def resolve(spec: str) -> str:
    """The registered name for ``spec`` (a domain name or a domain folder's path).

    Raises UnknownDomain for a name found nowhere, and DomainFolderError for a folder
    that cannot be loaded (the message says which file and why).
    """
    if looks_like_path(spec):
        return register(DomainFolder.at(Path(spec)))
    if spec in tau2_domains():
        return spec
    found = discoverable().get(spec)
    if found is None:
        raise UnknownDomain(spec, known_domains())
    return register(DomainFolder.at(found))


def register(folder: DomainFolder) -> str:
    """Register ``folder`` in tau2's registry under its name (once); returns the name."""
    with _lock:
        previous = _loaded.get(folder.name)
        if previous is not None:
            if previous.path != folder.path:
                raise DomainFolderError(
                    f"{folder.path}: a domain named {folder.name!r} is already loaded from "
                    f"{previous.path}; rename one of the folders"
                )
            return folder.name
        if folder.name in registry.get_domains() or folder.name in registry.get_task_sets():
            raise DomainFolderError(
                f"{folder.path}: tau2 already has a domain named {folder.name!r}; rename the folder"
            )
        database, tools = tools_classes(folder)
        registry.register_domain(environment_constructor(folder, database, tools), folder.name)
        registry.register_tasks(
            tasks_loader(folder), folder.name, get_task_splits=splits_loader(folder)
        )
        _loaded[folder.name] = folder
        return folder.name


def tools_module(folder: DomainFolder) -> ModuleType:
    """The folder's tools.py, imported (a built-in one under its package name)."""
    if folder.built_in:
        relative = folder.path.relative_to(BUILT_IN_ROOT.resolve())
        return importlib.import_module(f"evaluator.domains.{relative.as_posix()}.tools")
    module_name = f"tau2observe_domain_{folder.name}_tools"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, folder.file("tools.py"))
    if spec is None or spec.loader is None:
        raise DomainFolderError(f"{folder.file('tools.py')}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise DomainFolderError(
            f"{folder.file('tools.py')}: importing it failed: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def tools_classes(folder: DomainFolder) -> tuple[type[Any], type[Any]]:
    """``Database`` and ``Tools`` from the folder's tools module, checked."""
    module = tools_module(folder)
    database = getattr(module, "Database", None)
    tools = getattr(module, "Tools", None)
    path = folder.file("tools.py")
    if not (isinstance(database, type) and issubclass(database, DB)):
        raise DomainFolderError(
            f"{path}: must export Database, a subclass of tau2.environment.db.DB"
        )
    if not (isinstance(tools, type) and issubclass(tools, ToolKitBase)):
        raise DomainFolderError(
            f"{path}: must export Tools, a subclass of tau2.environment.toolkit.ToolKitBase"
        )
    return database, tools


def load_database(folder: DomainFolder, database: type[Any]) -> Any:
    try:
        return database.model_validate(folder.raw_db())
    except DomainFolderError:
        raise
    except Exception as exc:  # pydantic's ValidationError lists every field at fault
        raise DomainFolderError(f"{folder.file('db.json')}: does not fit Database: {exc}") from exc


def environment_constructor(
    folder: DomainFolder, database: type[Any], tools: type[Any]
) -> Callable[..., Environment]:
    policy = folder.policy()

    def get_environment(db: Any = None, solo_mode: bool = False) -> Environment:
        environment = Environment(
            domain_name=folder.name,
            policy=policy,
            tools=tools(db if db is not None else load_database(folder, database)),
        )
        if solo_mode:
            environment.set_solo_mode(True)
        return environment

    return get_environment


def tasks_loader(folder: DomainFolder) -> Callable[..., list[Task]]:
    def get_tasks(task_split_name: str | None = None) -> list[Task]:
        tasks = [Task.model_validate(raw) for raw in folder.raw_tasks()]
        if task_split_name is None:
            return tasks
        splits = folder.splits() or {}
        if task_split_name not in splits:
            raise ValueError(
                f"domain {folder.name!r} has no split {task_split_name!r}; "
                f"it has {', '.join(splits) or 'none'}"
            )
        wanted = set(splits[task_split_name])
        return [t for t in tasks if t.id in wanted]

    return get_tasks


def splits_loader(folder: DomainFolder) -> Callable[[], dict[str, list[str]]] | None:
    if folder.splits() is None:
        return None

    def get_splits() -> dict[str, list[str]]:
        return folder.splits() or {}

    return get_splits
