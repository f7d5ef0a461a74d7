"""``tau2observe proxy`` (and ``python -m proxy``): the sidecar in front of A2A agents.

Also the command runner every ``tau2observe`` subcommand goes through
(:func:`run_command`): logging set up with the redaction filter, ``UsageError`` -> exit 2,
a missing optional package -> an install hint. It lives here, below the evaluator, so
that ``python -m proxy`` loads nothing from ``evaluator/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import multiprocessing
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from proxy import semconv
from proxy.errors import SettingsError, UsageError
from proxy.redact import SECRET_WORDS, Redactor, install_log_redaction
from proxy.server import start_proxy
from proxy.settings import ProxySettings, Route, parse_listen
from proxy.telemetry import Telemetry, TelemetryConfigError, TelemetrySettings, build_telemetry

HELP = "run the A2A observability sidecar in front of one or more agents"
DESCRIPTION = """\
Run the sidecar: a transparent reverse proxy in front of A2A agents that forwards
every byte unchanged and records every JSON-RPC exchange as OpenTelemetry spans.

One agent:      tau2observe proxy --listen 127.0.0.1:9100 --upstream http://127.0.0.1:9101
Several agents: tau2observe proxy --listen :9100 --upstream oracle=http://127.0.0.1:9101 \\
                                                  --upstream flawed=http://127.0.0.1:9102
                (served at http://HOST:9100/oracle/ and http://HOST:9100/flawed/)

Point clients at the sidecar instead of the agent. Agent cards are rewritten so that
clients stay on the sidecar. Telemetry goes where the standard variables say:
  OTEL_EXPORTER_OTLP_ENDPOINT   e.g. http://127.0.0.1:4317 (a collector); unset: no OTLP
  OTEL_EXPORTER_OTLP_PROTOCOL   grpc (default) or http/protobuf
  OTEL_SERVICE_NAME             default tau2observe-proxy
  OTEL_RESOURCE_ATTRIBUTES      e.g. deployment.environment.name=dev
and --trace-file writes spans as OTLP JSON lines. Credentials are never recorded;
message content only with --capture-content.

--workers N runs N processes on one port (SO_REUSEPORT; the kernel spreads connections
over them). Each worker keeps its own table of conversations: turns of a conversation
without traceparent that arrive on different connections can land in different workers,
and then in different traces. Clients that send traceparent (the evaluator does) are not
affected.

Limits: a client has --client-header-timeout to send a request's headers (then 408),
a kept-alive connection idle for --client-idle-timeout is closed, a client that takes
no bytes of its response for --client-write-timeout is cut off, and connections beyond
--max-connections get 503. Bodies over --parse-max-bytes are forwarded but not read.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen",
        default="127.0.0.1:9100",
        metavar="HOST:PORT",
        help="address to serve on (default: %(default)s; port 0 picks a free one)",
    )
    parser.add_argument(
        "--upstream",
        action="append",
        required=True,
        metavar="[NAME=]URL",
        help="an agent to front; repeat for several, each as NAME=URL served under /NAME",
    )
    parser.add_argument("--agent-name", help="name of a single unnamed upstream in telemetry")
    parser.add_argument(
        "--trace-file", type=Path, help="also write spans to this OTLP JSON lines file"
    )
    parser.add_argument(
        "--public-url",
        help="base URL clients use to reach the sidecar, written into agent cards "
        "(default: taken from each request's Host / X-Forwarded-* headers)",
    )
    parser.add_argument(
        "--rewrite-all-card-urls",
        action="store_true",
        help="point every endpoint URL of an agent card at the sidecar, also URLs that name "
        "neither the upstream nor the sidecar (an agent that advertises a public address); "
        "by default those are left alone and a warning is logged once per route",
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per exchange: route, method, path, A2A method, status, duration, "
        "conversation, error (never headers; secret-looking query values redacted)",
    )
    parser.add_argument(
        "--capture-content",
        action="store_true",
        help="record message text as gen_ai.input/output.messages (off by default)",
    )
    parser.add_argument(
        "--content-max-chars",
        type=int,
        default=4096,
        help="cap on captured text; a longer message keeps its start and its end "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="longest silence tolerated from an agent before answering 504 (default: %(default)s)",
    )
    parser.add_argument(
        "--upstream-keepalive",
        type=float,
        default=1.5,
        metavar="SECONDS",
        help="close idle connections to agents after this long; keep it below the agents' "
        "own idle timeout (default: %(default)s)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="default: %(default)s",
    )
    parser.add_argument(
        "--redact-name",
        action="append",
        default=[],
        metavar="WORD",
        help="also redact query parameters and fields whose name contains WORD "
        f"(case-insensitive; always: {', '.join(SECRET_WORDS)}); repeatable",
    )
    parser.add_argument(
        "--client-header-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time a client has to send a request's headers, from connecting or from the "
        "first byte of a later request; then 408 and close (default: %(default)s)",
    )
    parser.add_argument(
        "--client-idle-timeout",
        type=float,
        default=75.0,
        metavar="SECONDS",
        help="close a kept-alive client connection idle this long (default: %(default)s)",
    )
    parser.add_argument(
        "--shutdown-grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long requests in flight may take to finish before they are "
        "cut (default: %(default)s)",
    )
    parser.add_argument(
        "--client-write-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="cut off a client that takes no bytes of its response this long "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="concurrent client connections; more get 503 (default: half the open-file "
        "limit, so the cap is reached before the descriptors run out)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes serving the same port (SO_REUSEPORT), for hosts with more cores; "
        "each keeps its own conversations (see above) (default: %(default)s)",
    )
    parser.add_argument(
        "--parse-max-bytes",
        type=int,
        default=1024 * 1024,
        metavar="BYTES",
        help="largest body read for telemetry; larger ones are forwarded unread, because "
        "reading takes the event loop about 10 ms per MiB (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        host, port = parse_listen(args.listen)
        specs: list[str] = args.upstream
        routes = tuple(
            Route.parse(spec, args.agent_name if len(specs) == 1 else None) for spec in specs
        )
        settings = ProxySettings(
            listen_host=host,
            listen_port=port,
            routes=routes,
            public_url=args.public_url,
            rewrite_all_card_urls=args.rewrite_all_card_urls,
            capture_content=args.capture_content,
            access_log=args.access_log,
            content_max_chars=args.content_max_chars,
            read_timeout_s=args.upstream_timeout,
            connect_timeout_s=args.connect_timeout,
            upstream_keepalive_s=args.upstream_keepalive,
            redact_names=tuple(args.redact_name),
            client_header_timeout_s=args.client_header_timeout,
            client_idle_timeout_s=args.client_idle_timeout,
            client_write_timeout_s=args.client_write_timeout,
            shutdown_grace_s=args.shutdown_grace,
            max_connections=args.max_connections,
            parse_max_bytes=args.parse_max_bytes,
            reuse_port=args.workers > 1,
        )
        if args.workers < 1:
            raise SettingsError("--workers", args.workers, "must be at least 1")
        if args.workers > 1 and port == 0:
            raise SettingsError("--listen", args.listen, "--workers needs a fixed port")
        telemetry_settings = TelemetrySettings.from_env(
            semconv.PROXY_SERVICE, trace_file=args.trace_file
        )
        install_log_redaction(Redactor.with_names(settings.redact_names))
        telemetry = build_telemetry(telemetry_settings)
    except (SettingsError, TelemetryConfigError) as exc:
        raise UsageError(str(exc)) from exc
    # Workers are fresh interpreters (spawn), each with its own loop and telemetry.
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_worker,
            args=(settings, telemetry_settings, args.log_level),
            name=f"tau2observe-proxy-worker-{i}",
        )
        for i in range(1, args.workers)
    ]
    try:
        for worker in workers:
            worker.start()
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(settings, telemetry))
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: the worker flushes its telemetry and exits
        for worker in workers:
            worker.join(30)
        telemetry.shutdown()
    return 0


def _worker(settings: ProxySettings, telemetry_settings: TelemetrySettings, level: str) -> None:
    """One more process serving the same port (``--workers``)."""
    configure_logging(level)
    install_log_redaction(Redactor.with_names(settings.redact_names))
    telemetry = build_telemetry(telemetry_settings)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(settings, telemetry, announce=False))
    finally:
        telemetry.shutdown()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux, macOS): a faster loop for the same code."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


# The exporter threads (batch span processors, the metric reader) share the interpreter
# lock with the event loop. A thread that wants the lock waits up to the switch interval
# for the holder to let go: at Python's default of 5 ms, a request that arrives during an
# export waits that long at every wake-up of the loop. 1 ms bounds that wait.
SWITCH_INTERVAL_S = 0.001


def _tune_interpreter() -> None:
    """Process-wide settings, made here at the entry point only: a shorter GIL switch
    interval, and everything allocated while starting up moved out of the collector's
    reach (``gc.freeze``), so a full collection walks the live requests, not the imports."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()


async def _serve(settings: ProxySettings, telemetry: Telemetry, announce: bool = True) -> None:
    log = logging.getLogger("tau2observe.proxy")
    try:
        running = await start_proxy(settings, telemetry)
    except OSError as exc:
        raise UsageError(
            f"--listen {settings.listen_host}:{settings.listen_port}: {exc.strerror}"
        ) from exc
    _tune_interpreter()
    for route in settings.routes if announce else ():
        log.info("serving %s -> %s as %r", running.url_for(route.name), route.upstream, route.name)
    for line in telemetry.description or ("no exporter configured: spans are not kept",):
        if announce:
            log.info("telemetry %s", line)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down: flushing telemetry")
        await running.stop()


# --- the command runner (shared by every tau2observe subcommand) -------------------------
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (default: %(default)s)",
    )


def configure_logging(level: str) -> None:
    """stderr logging, every line through the redaction filter."""
    logging.basicConfig(level=getattr(logging, level), format=LOG_FORMAT, stream=sys.stderr)
    install_log_redaction()


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace, name: str) -> int:
    """Run ``args._module.run(args)``: bad usage exits 2 with the reason, a missing
    optional package exits 2 with the install command."""
    configure_logging(args.log_level)
    module: ModuleType = args._module
    try:
        code: int = module.run(args)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] in ("proxy", "evaluator"):
            raise
        parser.exit(
            2,
            f"{name}: error: this command needs packages that are not "
            f"installed (missing {exc.name!r}); install them with: "
            f"pip install 'tau2observe[all]'\n",
        )
    except UsageError as exc:
        parser.exit(2, f"{name}: error: {exc}\n")
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m proxy``: the same as ``tau2observe proxy``, without the evaluator."""
    parser = argparse.ArgumentParser(
        prog="python -m proxy",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_log_level(parser)
    configure(parser)
    parser.set_defaults(_module=sys.modules[__name__])
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run_command(parser, args, "tau2observe proxy")
