from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.proxy.conftest import RawUpstream
from tests.proxy.peers import free_port


async def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxy",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_help_explains_the_sidecar() -> None:
    code, out, _ = await _run("--help")
    assert code == 0
    for expected in (
        "--upstream",
        "--listen",
        "--trace-file",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "NAME=URL",
        "--capture-content",
    ):
        assert expected in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--upstream", "ftp://h"], "--upstream='ftp://h': must be an http:// or https:// URL"),
        (
            ["--upstream", "http://h:1", "--listen", "nowhere"],
            "--listen='nowhere': expected HOST:PORT",
        ),
        (
            ["--upstream", "a=http://h:1", "--upstream", "a=http://h:2"],
            "two upstreams share a prefix",
        ),
        (["--upstream", "http://u:secretpw@h:1"], "must not carry credentials"),
    ],
)
async def test_bad_command_lines_say_what_and_where(args: list[str], message: str) -> None:
    code, _, err = await _run(*args)
    assert code == 2
    assert message in err
    assert "secretpw" not in err
    assert "Traceback" not in err


async def test_bad_otel_variable_is_a_clear_error() -> None:
    code, _, err = await _run(
        "--upstream",
        "http://h:1",
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "udp"},
    )
    assert code == 2
    assert "OTEL_EXPORTER_OTLP_PROTOCOL='udp'" in err


async def test_serves_and_flushes_spans_on_sigterm(raw: RawUpstream, tmp_path: Path) -> None:
    port = free_port()
    trace_file = tmp_path / "spans.jsonl"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxy",
        "--listen",
        f"127.0.0.1:{port}",
        "--upstream",
        raw.url,
        "--trace-file",
        str(trace_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    response = await http.post(
                        f"http://127.0.0.1:{port}/mirror",
                        json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage"},
                    )
                    break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.05)
            assert response.status == 200
            await response.read()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert "serving http://127.0.0.1:" in err.decode()
    names = [
        span["name"]
        for line in trace_file.read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]
    assert names.count("SendMessage") == 2
    assert "a2a.conversation" in names  # the root is ended and flushed at shutdown


async def test_the_sidecar_process_imports_nothing_from_the_evaluator(raw: RawUpstream) -> None:
    """``python -m proxy`` runs the sidecar alone: the evaluator (and tau2 behind it) stays
    out of its process. Checked in a process that serves a request, then stops itself."""
    code = f"""
import os, runpy, signal, sys, threading, urllib.request

def probe():
    for _ in range(200):
        try:
            urllib.request.urlopen("http://127.0.0.1:{{port}}/mirror", timeout=2).read()
            break
        except OSError:
            threading.Event().wait(0.05)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=probe, daemon=True).start()
sys.argv = ["proxy", "--listen", "127.0.0.1:{{port}}", "--upstream", "{raw.url}"]
try:
    runpy.run_module("proxy", run_name="__main__")
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.split(".")[0] == "evaluator"))
print("proxy.server" in sys.modules)
"""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code.replace("{port}", str(port)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert "serving http://127.0.0.1:" in err.decode()
    assert out.decode().split() == ["[]", "True"], err.decode()


def _children(pid: int) -> list[int]:
    """Worker processes of ``pid`` (multiprocessing's spawned children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            with contextlib.suppress(OSError):
                if b"spawn_main" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
async def test_workers_share_one_port_and_one_trace_file(raw: RawUpstream, tmp_path: Path) -> None:
    port = free_port()
    trace_file = tmp_path / "spans.jsonl"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "--workers", "2", "--listen", f"127.0.0.1:{port}",
        "--upstream", raw.url, "--trace-file", str(trace_file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(200):  # both processes up: the parent and one worker
            if len(_children(process.pid)) >= 1:
                break
            await asyncio.sleep(0.05)
        statuses = []
        for _ in range(30):
            async with aiohttp.ClientSession() as http:  # a fresh connection each time
                for _ in range(100):
                    try:
                        response = await http.post(
                            f"http://127.0.0.1:{port}/mirror",
                            json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage"},
                        )
                        break
                    except aiohttp.ClientConnectorError:
                        await asyncio.sleep(0.05)
                statuses.append(response.status)
                await response.read()
        workers = _children(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    assert statuses == [200] * 30
    assert len(workers) == 1
    names = [
        span["name"]
        for line in trace_file.read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]  # every line whole: no torn writes
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]
    assert names.count("SendMessage") == 60  # SERVER and CLIENT, whichever worker served
    code, _, usage = await _run("--workers", "2", "--listen", "127.0.0.1:0", "--upstream", raw.url)
    assert code == 2
    assert "--workers needs a fixed port" in usage
