"""Tasks on files: what is saved is read back, by a new store, without credentials."""

from __future__ import annotations

import json
from pathlib import Path

from a2a.helpers import new_data_part, new_task, new_text_message
from a2a.types import ListTasksRequest, Role, TaskState
from google.protobuf import json_format

from evaluator.green.store import SYSTEM, FileTaskStore


def request(secret: str) -> str:
    return json.dumps(
        {"participants": {"agent": "http://a/"},
         "config": {"domain": "mock", "user_llm_args": {"api_key": secret}}}
    )  # fmt: skip


async def test_tasks_survive_a_new_store_and_keep_no_credentials(tmp_path: Path) -> None:
    store = await FileTaskStore.open(tmp_path)
    message = new_text_message(request("sk-1"), role=Role.ROLE_USER)
    message.parts.append(new_data_part(json.loads(request("sk-2"))))
    task = new_task("t-1", "c-1", TaskState.TASK_STATE_WORKING, history=[message])
    await store.save(task, SYSTEM)
    task.status.state = TaskState.TASK_STATE_COMPLETED
    await store.save(task, SYSTEM)

    again = await FileTaskStore.open(tmp_path)
    kept = await again.get("t-1", SYSTEM)
    assert kept is not None
    assert kept.status.state == TaskState.TASK_STATE_COMPLETED
    text = (tmp_path / "tasks" / "t-1.json").read_text()
    for shown in (text, json_format.MessageToJson(kept)):
        assert "sk-1" not in shown
        assert "sk-2" not in shown
    assert json.loads(kept.history[0].parts[0].text)["config"]["user_llm_args"] == {
        "api_key": "***"
    }
    listed = await again.list(ListTasksRequest(), SYSTEM)
    assert [t.id for t in listed.tasks] == ["t-1"]
    assert not list((tmp_path / "tasks").glob(".*.tmp"))  # written atomically, then renamed


async def test_an_unreadable_file_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "broken.json").write_text("{")
    store = await FileTaskStore.open(tmp_path)
    assert await store.all() == []
