"""The betterproto2 SDK and the protobuf bindings write the same bytes for the same message."""

from __future__ import annotations

import datetime

import pytest
from google.protobuf import timestamp_pb2

from emergence.client import metrics_table, series_table
from emergence.client import v1 as sdk
from emergence.v1 import experiments_service_pb2, run_pb2


def test_a_run_config_crosses_both_ways() -> None:
    config = sdk.RunConfig(
        name="ünïcode ✓",
        seed=2**63 + 5,
        agents=10,
        brain=sdk.BrainKind.HYBRID,
        end=sdk.EndConditions(max_ticks=500, stop_on_extinction=True),
        personality_mode="balanced",
    )

    decoded = run_pb2.RunConfig.FromString(bytes(config))

    assert decoded.name == "ünïcode ✓"
    assert decoded.seed == 2**63 + 5
    assert decoded.brain == run_pb2.BRAIN_KIND_HYBRID
    assert decoded.end.max_ticks == 500 and decoded.end.stop_on_extinction
    assert sdk.RunConfig.parse(decoded.SerializeToString()) == config


def test_timestamps_become_datetimes_and_oneofs_survive() -> None:
    committed = timestamp_pb2.Timestamp(seconds=1_800_000_000, nanos=5000)
    summary = run_pb2.TickSummary(tick=7, alive=3, gini=0.25, committed_at=committed)
    spec = run_pb2.WorldEventSpec(plague=run_pb2.Plague(region="river", ticks=30))

    parsed = sdk.TickSummary.parse(summary.SerializeToString())
    parsed_spec = sdk.WorldEventSpec.parse(spec.SerializeToString())

    assert parsed.tick == 7 and parsed.gini == 0.25
    assert parsed.committed_at == datetime.datetime(2027, 1, 15, 8, 0, 0, 5, tzinfo=datetime.UTC)
    assert parsed_spec.plague == sdk.Plague(region="river", ticks=30)
    assert parsed_spec.migration is None


def test_maps_and_repeated_messages_cross() -> None:
    response = experiments_service_pb2.CompareRunsResponse(
        runs=[experiments_service_pb2.RunMetrics(run_id="a", metrics={"trades": 12.0, "gini": 0.3})]
    )

    parsed = sdk.CompareRunsResponse.parse(response.SerializeToString())

    assert parsed.runs[0].run_id == "a"
    assert parsed.runs[0].metrics == {"trades": 12.0, "gini": 0.3}
    back = experiments_service_pb2.CompareRunsResponse.FromString(bytes(parsed))
    assert back == response


def series_response() -> sdk.GetSeriesResponse:
    return sdk.GetSeriesResponse(
        series=[
            sdk.Series(
                metric="population.alive",
                points=[sdk.SeriesPoint(tick=1, value=6.0), sdk.SeriesPoint(tick=2, value=5.0)],
            ),
            sdk.Series(metric="gini", points=[sdk.SeriesPoint(tick=2, value=0.25)]),
        ]
    )


def test_series_become_rows_by_tick_without_pandas() -> None:
    rows = series_table(series_response(), frame=False)

    assert rows == [
        {"tick": 1, "population.alive": 6.0},
        {"tick": 2, "population.alive": 5.0, "gini": 0.25},
    ]


def test_series_become_a_pandas_frame_indexed_by_tick() -> None:
    pandas = pytest.importorskip("pandas")

    frame = series_table(series_response(), frame=True)

    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["population.alive", "gini"]
    assert frame.loc[2, "gini"] == 0.25
    assert pandas.isna(frame.loc[1, "gini"])
    assert list(metrics_table([{"run_id": "a", "trades": 3.0}], frame=True)["trades"]) == [3.0]
