"""The `emergence` command: run, verify, replay, bench, stub-llm and the services."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from emergence.mesh.errors import ConfigurationError, EmergenceError, NotFound, Unavailable
from emergence.mesh.logs import configure_logging
from emergence.mesh.settings import load_settings

if TYPE_CHECKING:
    from emergence.embedded import RunSummary

EXIT_CONFIGURATION = 2


def _run_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = commands.add_parser(
        "run", help="an embedded run: engine, ledger and a runner in one process"
    )
    run.add_argument("--agents", type=int, help="number of agents at the start (default 20)")
    run.add_argument("--ticks", type=int, help="ticks to run (default 1000)")
    run.add_argument("--seed", type=int, help="seed of everything random (default 42)")
    run.add_argument("--config", help="a YAML settings file (emergence.yaml)")
    run.add_argument("--brain", choices=["heuristic", "llm", "hybrid"], help="how agents decide")
    run.add_argument("--map", help="'default', 'generated', or a world file")
    run.add_argument("--locations", type=int, help="locations of a generated map")
    run.add_argument("--out", help="where runs are stored (default runs/)")
    run.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object last"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--runner-process",
        action="store_true",
        help="decide in a runner process of its own, so engine and brain use two cores",
    )
    run.add_argument(
        "--dashboard",
        action="store_true",
        help="serve the dashboard on observer_port during the run and after it, until Ctrl-C",
    )


def _verify_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    verify = commands.add_parser(
        "verify", help="audit a stored run; exit 0 only if everything holds"
    )
    verify.add_argument("run", help="run id (a folder under runs/) or a path to a run folder")
    verify.add_argument("--store", help="event store URL when the run is not under runs/")
    verify.add_argument("--ledger-store", help="ledger store URL (defaults to the event store's)")
    verify.add_argument("--out", default="runs", help="where runs are stored (default runs/)")
    verify.add_argument("--json", action="store_true")
    replay = commands.add_parser(
        "replay", help="re-run a stored run from its decisions; print the hash"
    )
    replay.add_argument("run")
    replay.add_argument("--store")
    replay.add_argument("--out", default="runs")
    replay.add_argument("--json", action="store_true")


def _report_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser(
        "report", help="write a stored run's report: one self-contained HTML file"
    )
    report.add_argument("run", help="run id (a folder under runs/) or a path to a run folder")
    report.add_argument("--store", help="event store URL when the run is not under runs/")
    report.add_argument(
        "--out", help="the HTML file to write (default: report.html in the run folder)"
    )
    report.add_argument("--runs", default="runs", help="where runs are stored (default runs/)")
    report.add_argument(
        "--json", action="store_true", help="print the report path and metrics as JSON last"
    )


def _bench_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = commands.add_parser("bench", help="benchmarks; figures go to docs/benchmarks.md")
    bench.add_argument(
        "which",
        choices=[
            "tick",
            "persist",
            "ledger",
            "emergence",
            "society",
            "hybrid",
            "snapshot",
            "stream",
            "live",
            "batch",
            "mesh",
            "perception",
            "all",
        ],
    )
    bench.add_argument("--agents", type=int, default=20)
    bench.add_argument("--ticks", type=int, default=2000)
    bench.add_argument("--seed", type=int, default=42, help="the seed (society: the first seed)")
    bench.add_argument("--seeds", type=int, default=10, help="society: how many seeds, in a row")
    bench.add_argument("--parallel", type=int, default=1, help="society: runs at once")
    bench.add_argument("--out", default="runs", help="society: where its runs are stored")
    bench.add_argument(
        "--label",
        help="society: a title for the figures; they get their own section of the doc;"
        " mesh: a section of its own (e.g. 'before' for a baseline; default: the 'mesh' one)",
    )
    bench.add_argument(
        "--overlap",
        action="store_true",
        help="mesh: only the runs measured with persistence overlapping the next tick and"
        " without (its part of the 'mesh' section)",
    )
    bench.add_argument(
        "--from-runs", help="society: measure the runs stored under this folder instead of running"
    )
    bench.add_argument(
        "--note", help="society: a paragraph under the title (how the runs were made, the load)"
    )
    bench.add_argument("--brain", choices=["heuristic", "llm", "hybrid"], default="heuristic")
    bench.add_argument(
        "--scale",
        choices=["short", "long", "crowd", "large"],
        help="society: the runs a target is set for (20 x 2000, 20 x 5000, 100 x 2000, "
        "1000 x 300 on a generated map); sets --agents, --ticks and --map",
    )
    bench.add_argument("--map", help="society: 'default', 'generated' or a world file")
    bench.add_argument("--locations", type=int, help="society: locations of a generated map")
    bench.add_argument(
        "--until-tick", type=int, help="society: measure each run up to this tick only"
    )
    bench.add_argument(
        "--stub-policy",
        default="heuristic",
        help="society with --brain llm/hybrid: how the stub model answers, 'heuristic' and/or "
        "'random' (comma-separated: one column each, beside the heuristic brain's)",
    )
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emergence", description="Bounded, observable, reproducible agent-society experiments."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _run_parser(commands)
    _verify_parser(commands)
    _report_parser(commands)
    _bench_parser(commands)
    from emergence.experiments.commands import add_parsers as add_experiment_parsers

    add_experiment_parsers(commands)
    stub = commands.add_parser(
        "stub-llm", help="an OpenAI-compatible stub model server on loopback"
    )
    stub.add_argument("rest", nargs=argparse.REMAINDER)
    mesh = commands.add_parser("up", help="the full mesh as separate processes on this machine")
    mesh.add_argument("--config", help="a YAML settings file (emergence.yaml)")
    mesh.add_argument("--runners", type=int, default=2, help="runner processes (default 2)")
    mesh.add_argument("--agents", type=int)
    mesh.add_argument("--ticks", type=int)
    mesh.add_argument("--seed", type=int)
    mesh.add_argument("--no-gateway", action="store_true", help="do not start Envoy")
    gateway = commands.add_parser(
        "gateway", help="the Envoy gateway alone: dashboard, grpc-web and REST (/api/v1)"
    )
    gateway.add_argument("rest", nargs=argparse.REMAINDER)
    health = commands.add_parser(
        "health", help="check a service's grpc health once (exit 0 when SERVING)"
    )
    health.add_argument("rest", nargs=argparse.REMAINDER)
    for name in ("engine", "ledger", "runner"):
        service = commands.add_parser(
            name, help=f"the {name} service alone (same as emergence-{name})"
        )
        service.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def command_run(arguments: argparse.Namespace) -> int:
    overrides = {
        "run.agents": arguments.agents,
        "run.ticks": arguments.ticks,
        "run.seed": arguments.seed,
        "run.brain": arguments.brain,
        "run.out": arguments.out,
        "run.map": arguments.map,
        "run.generated_locations": arguments.locations,
    }
    settings = load_settings(arguments.config, overrides=overrides)
    from emergence.embedded import embedded_run

    printed: list[RunSummary] = []

    def show(summary: RunSummary) -> None:
        printed.append(summary)
        print_summary(summary, as_json=arguments.json)

    summary = asyncio.run(
        embedded_run(
            settings,
            progress=not arguments.quiet,
            dashboard=arguments.dashboard,
            on_summary=show,
            runner_process=arguments.runner_process,
        )
    )
    if not printed:
        print_summary(summary, as_json=arguments.json)
    return 0 if summary.ledger_verified and not summary.ledger_anomalies else 1


def print_summary(summary: RunSummary, *, as_json: bool) -> None:
    lines = [
        f"run {summary.run_id} ended ({summary.end_reason}) after {summary.ticks} ticks"
        f" in {summary.wall_seconds:.1f} s ({summary.ticks_per_second} ticks/s)",
        f"  alive {summary.alive} · births {summary.births} · deaths {summary.deaths} · events {summary.events}",
        f"  history_hash {summary.history_hash}",
        f"  history      {summary.store}",
        f"  ledger       {summary.ledger_store} (conservation verified: {summary.ledger_verified})",
        f"  verify with  emergence verify {summary.run_id}",
    ]
    if summary.ledger_anomalies:
        lines.append(
            f"  LEDGER ANOMALIES {summary.ledger_anomalies}: the engine and the ledger disagree;"
            f" `emergence verify {summary.run_id}` names each one"
        )
    summary.report = write_report_quietly(summary.store, summary.run_id, summary.out_dir)
    if summary.report:
        lines.append(f"  report       {summary.report}")
    print("\n".join(lines), flush=True)
    if as_json:
        print(json.dumps(summary.as_dict(), sort_keys=True), flush=True)


def write_report_quietly(store: str, run_id: str, out_dir: str) -> str:
    """The report at the end of a run; a run that finished is not failed by its report."""
    from emergence.report import write_run_report

    path = Path(out_dir) / "report.html"
    try:
        asyncio.run(write_run_report(store, run_id, path))
    except Exception as error:
        print(f"emergence: the report could not be written: {error}", file=sys.stderr)
        return ""
    return str(path)


def checked_run_argument(run: str) -> str:
    """A run id or folder as typed: refused before it reaches the file system if it cannot be one."""
    if not run or len(run) > 255 or any(ord(character) < 32 for character in run):
        raise ConfigurationError(
            "run",
            f"no stored run {run[:40]!r}{'…' if len(run) > 40 else ''}",
            hint="pass a run id printed by `emergence run` or a run folder",
        )
    return run


def command_report(arguments: argparse.Namespace) -> int:
    from emergence.analysis.history import comparison_metrics
    from emergence.audit import locate_run
    from emergence.report import write_run_report

    run_id, store, _ = locate_run(
        checked_run_argument(arguments.run), arguments.store, None, arguments.runs
    )
    folder = Path(arguments.runs) / run_id
    if Path(arguments.run).is_dir():
        folder = Path(arguments.run)
    path = Path(arguments.out) if arguments.out else folder / "report.html"
    analysis = asyncio.run(write_run_report(store, run_id, path))
    print(f"report of run {run_id} ({analysis.last_tick} ticks): {path}")
    if arguments.json:
        metrics = {
            name: (value if math.isfinite(value) else None)
            for name, value in comparison_metrics(analysis).items()
        }
        print(
            json.dumps({"run_id": run_id, "report": str(path), "metrics": metrics}, sort_keys=True)
        )
    return 0


def command_verify(arguments: argparse.Namespace) -> int:
    from emergence.audit import audit_run

    report = asyncio.run(
        audit_run(
            arguments.run,
            store=arguments.store,
            ledger_store=arguments.ledger_store,
            out=arguments.out,
        )
    )
    for line in report.lines():
        print(line)
    if arguments.json:
        print(json.dumps(report.as_dict(), sort_keys=True))
    return 0 if report.ok else 1


def command_replay(arguments: argparse.Namespace) -> int:
    from emergence.audit import replay_run

    result = asyncio.run(replay_run(arguments.run, store=arguments.store, out=arguments.out))
    print(
        f"replayed {result['ticks']} ticks: history_hash {result['history_hash']}"
        f" ({'matches' if result['matches'] else 'DIFFERS from'} the stored hash)"
    )
    if arguments.json:
        print(json.dumps(result, sort_keys=True))
    return 0 if result["matches"] else 1


def command_bench(arguments: argparse.Namespace) -> int:
    from bench.runner import run_benchmarks

    if getattr(arguments, "scale", None):
        from bench.society_metrics import SCALES

        scale = SCALES[arguments.scale]
        arguments.agents, arguments.ticks, arguments.map = scale.agents, scale.ticks, scale.map
    return asyncio.run(run_benchmarks(arguments))


def _delegate(main: Callable[[list[str] | None], int], rest: Sequence[str]) -> int:
    return main(list(rest))


def dispatch(arguments: argparse.Namespace) -> int:
    if arguments.command == "run":
        return command_run(arguments)
    if arguments.command == "verify":
        return command_verify(arguments)
    if arguments.command == "replay":
        return command_replay(arguments)
    if arguments.command == "report":
        return command_report(arguments)
    if arguments.command == "bench":
        return command_bench(arguments)
    if arguments.command in ("fork", "compare", "batch"):
        from emergence.experiments.commands import dispatch as experiments_dispatch

        return experiments_dispatch(arguments)
    if arguments.command == "up":
        from emergence.up import up

        settings = load_settings(
            arguments.config,
            overrides={
                "run.agents": arguments.agents,
                "run.ticks": arguments.ticks,
                "run.seed": arguments.seed,
            },
        )
        return up(
            settings,
            runners=arguments.runners,
            gateway=not arguments.no_gateway,
            config_path=arguments.config,
        )
    if arguments.command == "stub-llm":
        from runner.llm.stub_server import main as stub_main

        return _delegate(stub_main, arguments.rest)
    if arguments.command == "engine":
        from engine.app import main as engine_main

        return _delegate(engine_main, arguments.rest)
    if arguments.command == "gateway":
        from gateway.command import main as gateway_main

        return _delegate(gateway_main, arguments.rest)
    if arguments.command == "health":
        from emergence.health import main as health_main

        return _delegate(health_main, arguments.rest)
    if arguments.command == "ledger":
        from ledger_service.app import main as ledger_main

        return _delegate(ledger_main, arguments.rest)
    from runner.app import main as runner_main

    return _delegate(runner_main, arguments.rest)


# Commands whose options belong to another program's parser: argparse's REMAINDER would refuse
# an option in first place (`emergence stub-llm --port 8001`), so these are split off first.
DELEGATED = ("stub-llm", "gateway", "health", "engine", "ledger", "runner")


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in DELEGATED:
        arguments = argparse.Namespace(command=words[0], rest=words[1:])
    else:
        arguments = build_parser().parse_args(words)
    try:
        return dispatch(arguments)
    except ConfigurationError as error:
        print(f"emergence: configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIGURATION
    except (Unavailable, NotFound) as error:
        print(f"emergence: {error}", file=sys.stderr)
        return EXIT_CONFIGURATION
    except EmergenceError as error:
        print(f"emergence: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("emergence: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
