"""`emergence fork`, `emergence compare` and `emergence batch`: the Experiments API from a shell.

Each talks gRPC to a control plane: the one at `--experiments ADDR` (token from
OPERATOR_API_TOKEN), or one hosted in this process over the run's store (`--store`, DATABASE_URL,
or the run folder under runs/). Bad input exits 2 with one line and creates nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml

from emergence.experiments import config as run_configs
from emergence.mesh.errors import ConfigurationError, InvalidArgument, NotFound, from_rpc_error
from emergence.mesh.redact import redact_url
from emergence.mesh.settings import load_settings
from emergence.v1 import experiments_service_pb2 as messages
from emergence.v1 import experiments_service_pb2_grpc, run_pb2

ENDED = (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED)
MAX_SEEDS = 1_000


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fork = commands.add_parser(
        "fork", help="a new run from any tick of a stored run, run to its end"
    )
    fork.add_argument("run", help="the run to fork")
    fork.add_argument("--at", type=int, required=True, metavar="TICK", help="the fork tick")
    fork.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="change a setting"
    )
    fork.add_argument(
        "--inject",
        action="append",
        default=[],
        metavar="EVENT",
        help="a world event for the fork's first tick: KIND[:key=value,...], e.g."
        " 'plague:region=Central Valley,ticks=30'",
    )
    compare = commands.add_parser("compare", help="the same metrics of several runs side by side")
    compare.add_argument("runs", nargs="+", metavar="RUN")
    batch = commands.add_parser("batch", help="one run per seed, N engines at once, then compare")
    batch.add_argument("--seeds", required=True, help="1..10, or 1,4,9")
    batch.add_argument("--config", help="a YAML settings file (its run/world/runner/llm sections)")
    batch.add_argument("--parallel", type=int, default=1, help="engines at once (default 1)")
    batch.add_argument("--agents", type=int)
    batch.add_argument("--ticks", type=int)
    for command in (compare, batch):
        command.add_argument(
            "--report", metavar="FILE", help="also write a comparison report (HTML) to FILE"
        )
    for command in (fork, compare, batch):
        command.add_argument("--store", help="event store URL (default: DATABASE_URL or runs/)")
        command.add_argument("--out", default="runs", help="where runs are stored (default runs/)")
        command.add_argument(
            "--experiments", metavar="ADDR", help="use this control plane instead of one in-process"
        )
        command.add_argument("--json", action="store_true", help="print one JSON object last")


@dataclass
class Connection:
    stub: experiments_service_pb2_grpc.ExperimentsStub
    metadata: tuple[tuple[str, str], ...]

    async def call(self, method: str, request: Any, timeout_seconds: float = 60) -> Any:
        try:
            return await getattr(self.stub, method)(
                request, timeout=timeout_seconds, metadata=self.metadata
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error, call=method) from error


@contextlib.asynccontextmanager
async def connect(arguments: argparse.Namespace, store_url: str) -> AsyncIterator[Connection]:
    from emergence.mesh.channels import mesh_channel

    if arguments.experiments:
        token = os.environ.get("OPERATOR_API_TOKEN", "")
        async with mesh_channel(arguments.experiments) as channel:
            stub = experiments_service_pb2_grpc.ExperimentsStub(channel)
            yield Connection(stub, (("authorization", f"Bearer {token}"),))
        return
    from emergence.experiments.app import control_plane

    settings = load_settings(None)
    folder = Path(arguments.out) / "engines"
    async with (
        control_plane(settings, store_url=store_url, log_folder=folder) as hosted,
        mesh_channel(hosted.address) as channel,
    ):
        stub = experiments_service_pb2_grpc.ExperimentsStub(channel)
        yield Connection(stub, (("authorization", f"Bearer {hosted.operator_token}"),))


def store_of(run: str, arguments: argparse.Namespace) -> str:
    """The store a run lives in: --store, its folder under runs/, or DATABASE_URL."""
    if arguments.store:
        return str(arguments.store)
    from emergence.audit import locate_run

    return locate_run(run, None, None, arguments.out)[1]


async def wait_until_ended(connection: Connection, run_id: str) -> run_pb2.Run:
    while True:
        reply = await connection.call("GetRun", messages.GetRunRequest(run_id=run_id))
        if reply.run.status in ENDED:
            return reply.run  # type: ignore[no-any-return]
        await asyncio.sleep(0.2)


# ----- fork ----------------------------------------------------------------------------------
def parse_injection(text: str) -> run_pb2.WorldEventSpec:
    """`plague:region=Central Valley,ticks=30` -> WorldEventSpec(plague=Plague(...))."""
    kind, _, rest = text.partition(":")
    kind = kind.strip()
    spec = run_pb2.WorldEventSpec()
    kinds = [field.name for field in spec.DESCRIPTOR.fields]
    if kind not in kinds:
        raise InvalidArgument(
            f"--inject {run_configs.short(text)!r}: unknown event",
            hint=f"one of {', '.join(kinds)}",
        )
    message = getattr(spec, kind)
    message.SetInParent()
    for pair in filter(None, (part.strip() for part in rest.split(","))):
        key, separator, value = pair.partition("=")
        field = message.DESCRIPTOR.fields_by_name.get(key.strip())
        if not separator or field is None:
            known = ", ".join(f.name for f in message.DESCRIPTOR.fields) or "none"
            raise InvalidArgument(
                f"--inject {kind}: {run_configs.short(pair)!r} is not key=value of a known field",
                hint=f"fields: {known}",
            )
        _set_field(message, field, value.strip(), kind)
    return spec


def _set_field(message: Any, field: Any, value: str, kind: str) -> None:
    try:
        if field.enum_type is not None:
            prefix = "RESOURCE_" if field.enum_type.name == "Resource" else ""
            setattr(
                message, field.name, field.enum_type.values_by_name[prefix + value.upper()].number
            )
        elif field.type in (
            field.TYPE_UINT32,
            field.TYPE_UINT64,
            field.TYPE_INT32,
            field.TYPE_INT64,
        ):
            setattr(message, field.name, int(value))
        else:
            setattr(message, field.name, value)
    except (KeyError, ValueError) as error:
        raise InvalidArgument(
            f"--inject {kind}: {field.name}={run_configs.short(value)!r} is not a valid value"
        ) from error


async def fork(arguments: argparse.Namespace) -> dict[str, Any]:
    from emergence.experiments.app import ledger_store_for

    if arguments.at < 0:
        raise InvalidArgument(f"--at must be a tick (0 or more), got {arguments.at}")
    injections = [parse_injection(text) for text in arguments.inject]
    store_url = store_of(arguments.run, arguments)
    async with connect(arguments, store_url) as connection:
        request = messages.ForkRunRequest(
            run_id=arguments.run, at_tick=arguments.at, overrides=arguments.set, inject=injections
        )
        started = time.perf_counter()
        created = (await connection.call("ForkRun", request, 300)).run
        await connection.call("StartRun", messages.StartRunRequest(run_id=created.id), 300)
        run = await wait_until_ended(connection, created.id)
    return {
        "run_id": run.id,
        "parent_run_id": run.parent_run_id,
        "forked_at_tick": run.forked_at_tick,
        "ticks": run.current_tick,
        "status": run_pb2.RunStatus.Name(run.status).removeprefix("RUN_STATUS_").lower(),
        "end_reason": run_pb2.EndReason.Name(run.end_reason).removeprefix("END_REASON_").lower(),
        "history_hash": run.history_hash,
        "overrides": list(arguments.set),
        "injected": list(arguments.inject),
        "wall_seconds": round(time.perf_counter() - started, 3),
        # Beside its parent: `emergence verify RUN --store` (and --ledger-store) find it there.
        "store": "" if arguments.experiments else redact_url(store_url),
        "ledger_store": "" if arguments.experiments else redact_url(ledger_store_for(store_url)),
    }


def command_fork(arguments: argparse.Namespace) -> int:
    result = asyncio.run(fork(arguments))
    print(
        f"fork {result['run_id']} of {result['parent_run_id']} at tick {result['forked_at_tick']}"
        f" ended ({result['end_reason']}) at tick {result['ticks']}"
        f" in {result['wall_seconds']:.1f} s\n  history_hash {result['history_hash']}"
        + (
            f"\n  verify with  emergence verify {result['run_id']} --store {result['store']}"
            f" --ledger-store {result['ledger_store']}"
            if result["store"]
            else ""
        )
    )
    if arguments.json:
        print(json.dumps(result, sort_keys=True))
    return 0 if result["status"] == "completed" else 1


# ----- compare -------------------------------------------------------------------------------
async def compare(arguments: argparse.Namespace) -> dict[str, Any]:
    """From the stored histories directly (runs may sit in different run folders)."""
    from emergence.analysis.metrics import aggregates, load_figures, metric_names, value
    from engine.adapters.event_store import open_event_store

    figures = []
    for run in arguments.runs:
        store = open_event_store(store_of(run, arguments))
        await store.open()
        try:
            from emergence.experiments.registry import find_run

            found = await find_run(store, Path(run).name)
            figures.append(await load_figures(store, found.id))
        finally:
            await store.close()
    names = metric_names(figures)
    if arguments.report:
        from emergence.report import write_stored_comparison_report

        arms = {
            f"{f.run_id[-8:]} (seed {f.seed})": [(store_of(run, arguments), f.run_id)]
            for run, f in zip(arguments.runs, figures, strict=True)
        }
        await write_stored_comparison_report(arms, Path(arguments.report))
    return comparison(figures, names, aggregates(figures, names), value)


def comparison(
    figures: Sequence[Any], names: Sequence[str], found: Sequence[Any], value: Any
) -> dict[str, Any]:
    return {
        "runs": [
            {
                "run_id": f.run_id,
                "seed": f.seed,
                "ticks": f.ticks,
                "metrics": {name: _json_number(value(f, name)) for name in names},
                "first_discovery_tick": f.first_discovery_tick,
            }
            for f in figures
        ],
        "aggregates": {
            a.metric: {
                "mean": _json_number(a.interval.mean),
                "ci95_low": _json_number(a.interval.low),
                "ci95_high": _json_number(a.interval.high),
                "runs": a.interval.count,
            }
            for a in found
        },
    }


def _json_number(number: float) -> float | None:
    return None if not math.isfinite(number) else round(number, 6)


def table(result: dict[str, Any]) -> str:
    runs = result["runs"]
    header = ["metric", *(run["run_id"][-8:] for run in runs), "mean [95 % CI]"]
    rows = [header]
    for metric, aggregate in result["aggregates"].items():
        cells = [_cell(run["metrics"][metric]) for run in runs]
        interval = (
            f"{_cell(aggregate['mean'])} [{_cell(aggregate['ci95_low'])}, {_cell(aggregate['ci95_high'])}]"
            if aggregate["runs"] > 1
            else _cell(aggregate["mean"])
        )
        rows.append([metric, *cells, interval])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    )


def _cell(number: float | None) -> str:
    if number is None:
        return "–"
    return f"{number:.0f}" if float(number).is_integer() else f"{number:.3f}"


def command_compare(arguments: argparse.Namespace) -> int:
    result = asyncio.run(compare(arguments))
    print(table(result))
    if arguments.report:
        print(f"comparison report: {arguments.report}")
    if arguments.json:
        print(json.dumps(result, sort_keys=True))
    return 0


# ----- batch ---------------------------------------------------------------------------------
def parse_seeds(text: str) -> list[int]:
    """`1..10` (inclusive) or `1,4,9`; zero seeds or more than 1 000 are refused."""
    seeds: list[int] = []
    try:
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            low, dots, high = part.partition("..")
            if dots:
                if int(high) - int(low) > MAX_SEEDS:
                    raise InvalidArgument(
                        f"--seeds {run_configs.short(text)!r}: more than {MAX_SEEDS} seeds"
                    )
                seeds.extend(range(int(low), int(high) + 1))
            else:
                seeds.append(int(part))
    except ValueError as error:
        raise InvalidArgument(f"--seeds {run_configs.short(text)!r}: use 1..10 or 1,4,9") from error
    if not seeds:
        raise InvalidArgument(f"--seeds {run_configs.short(text)!r} names zero seeds")
    if any(seed < 0 for seed in seeds) or len(seeds) > MAX_SEEDS or len(set(seeds)) != len(seeds):
        raise InvalidArgument(
            f"--seeds {run_configs.short(text)!r}: distinct seeds ≥ 0, at most {MAX_SEEDS}"
        )
    return seeds


def batch_config(arguments: argparse.Namespace) -> run_pb2.RunConfig:
    """The run sections of --config (checked like any settings file) plus --agents/--ticks."""
    settings = load_settings(
        arguments.config, overrides={"run.agents": arguments.agents, "run.ticks": arguments.ticks}
    )
    sections = run_configs.canonical_sections(settings)
    return run_pb2.RunConfig(config_yaml=yaml.safe_dump(sections, sort_keys=True))


def batch_store(arguments: argparse.Namespace) -> str:
    if arguments.store:
        return str(arguments.store)
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        return database_url
    folder = Path(arguments.out) / f"batch-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    return f"sqlite:///{folder / 'history.sqlite'}"


async def batch(arguments: argparse.Namespace) -> dict[str, Any]:
    seeds = parse_seeds(arguments.seeds)
    if arguments.parallel < 1:
        raise InvalidArgument(f"--parallel must be at least 1, got {arguments.parallel}")
    config = batch_config(arguments)
    store_url = batch_store(arguments)
    async with connect(arguments, store_url) as connection:
        started = time.perf_counter()
        request = messages.RunBatchRequest(config=config, seeds=seeds, parallel=arguments.parallel)
        created = await connection.call("RunBatch", request)
        runs = [await wait_until_ended(connection, run.id) for run in created.runs]
        wall = time.perf_counter() - started
        compared = await connection.call(
            "CompareRuns", messages.CompareRunsRequest(run_ids=[run.id for run in runs]), 300
        )
    result = _from_reply(compared)
    if arguments.report:
        from emergence.report import write_stored_comparison_report

        label = f"seeds {arguments.seeds}"
        arm = [(store_url, run.id) for run in runs]
        await write_stored_comparison_report({label: arm}, Path(arguments.report))
    result.update(
        batch_id=created.batch_id,
        seeds=seeds,
        parallel=arguments.parallel,
        wall_seconds=round(wall, 3),
        failed=[run.id for run in runs if run.status != run_pb2.RUN_STATUS_COMPLETED],
        periods=[
            (run.id, run.started_at.ToDatetime().timestamp(), run.ended_at.ToDatetime().timestamp())
            for run in runs
        ],
    )
    return result


def _from_reply(reply: messages.CompareRunsResponse) -> dict[str, Any]:
    return {
        "runs": [
            {
                "run_id": run.run_id,
                "seed": run.seed,
                "ticks": run.ticks,
                "metrics": {name: _json_number(number) for name, number in run.metrics.items()},
                "first_discovery_tick": dict(run.first_discovery_tick),
            }
            for run in reply.runs
        ],
        "aggregates": {
            a.metric: {
                "mean": _json_number(a.mean),
                "ci95_low": _json_number(a.ci95_low),
                "ci95_high": _json_number(a.ci95_high),
                "runs": a.runs,
            }
            for a in reply.aggregates
        },
    }


def command_batch(arguments: argparse.Namespace) -> int:
    result = asyncio.run(batch(arguments))
    print(table(result))
    if arguments.report:
        print(f"comparison report: {arguments.report}")
    print(
        f"batch {result['batch_id']}: {len(result['seeds'])} runs, {result['parallel']} at once,"
        f" {result['wall_seconds']:.1f} s"
        + (f"; FAILED: {', '.join(result['failed'])}" if result["failed"] else "")
    )
    if arguments.json:
        print(json.dumps(result, sort_keys=True))
    return 0 if not result["failed"] else 1


COMMANDS = {"fork": command_fork, "compare": command_compare, "batch": command_batch}


def dispatch(arguments: argparse.Namespace) -> int:
    try:
        return COMMANDS[arguments.command](arguments)
    except (InvalidArgument, NotFound) as error:  # nothing was created: exit 2, as a bad setting
        raise ConfigurationError(arguments.command, str(error)) from error
