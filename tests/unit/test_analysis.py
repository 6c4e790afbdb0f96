"""Run analysis and reports from hand-made histories: series, firsts, spread, graph, escaping, CI."""

from __future__ import annotations

import math
import re

import pytest

from emergence.analysis.history import (
    AgentAtEnd,
    DecisionFigures,
    RunHistory,
    analyze,
    comparison_metrics,
    lorenz_curve,
)
from emergence.analysis.stats import confidence_interval, t_critical_95
from emergence.report.html import render_comparison_report, render_run_report
from emergence.v1 import common_pb2, event_pb2, run_pb2

E = event_pb2
ADA, BO, CY = "agent-ada", "agent-bo", "agent-cy"


def born(tick: int, agent_id: str, name: str, knowledge: tuple[str, ...] = ()) -> event_pb2.Event:
    return E.Event(
        tick=tick,
        type=E.EVENT_TYPE_AGENT_BORN,
        agent_id=agent_id,
        agent_born=E.AgentBornDetails(name=name, knowledge=list(knowledge)),
    )


def trust(tick: int, agent_id: str, other: str, value: float) -> event_pb2.Event:
    return E.Event(
        tick=tick,
        type=E.EVENT_TYPE_RELATIONSHIP_CHANGED,
        agent_id=agent_id,
        relationship=E.RelationshipDetails(other_agent_id=other, current=value),
    )


def learned(tick: int, agent_id: str, item: str, first: bool) -> event_pb2.Event:
    return E.Event(
        tick=tick,
        type=E.EVENT_TYPE_KNOWLEDGE_DISCOVERED,
        agent_id=agent_id,
        knowledge=E.KnowledgeDetails(
            knowledge=item,
            method=E.DISCOVERY_METHOD_EXPERIMENTATION,
            first_in_run=first,
            success=True,
        ),
    )


def summary(tick: int, alive: int, *, births: int = 0, deaths: int = 0) -> run_pb2.TickSummary:
    return run_pb2.TickSummary(
        tick=tick,
        alive=alive,
        births=births,
        deaths=deaths,
        gini=0.1 * tick,
        trades=1 if tick == 2 else 0,
        resources=[
            run_pb2.ResourceTotals(
                resource=common_pb2.RESOURCE_WATER, held_by_agents=10 + tick, at_nodes=5
            )
        ],
    )


def history(group_name: str = "Hearth") -> RunHistory:
    events = [
        born(0, ADA, "Ada", ("fire",)),
        born(0, BO, "Bo"),
        born(0, CY, "Cy"),
        learned(1, ADA, "pottery", True),
        trust(1, ADA, BO, 0.5),
        trust(1, BO, ADA, 0.4),
        trust(1, ADA, CY, 0.9),
        learned(2, BO, "pottery", False),
        E.Event(
            tick=2,
            type=E.EVENT_TYPE_TRADE_COMPLETED,
            agent_id=BO,
            trade=E.TradeDetails(
                offerer_id=ADA,
                accepter_id=BO,
                given=[common_pb2.ResourceAmount(resource=common_pb2.RESOURCE_WATER, quantity=3)],
                received=[common_pb2.ResourceAmount(resource=common_pb2.RESOURCE_FISH, quantity=2)],
            ),
        ),
        E.Event(
            tick=3,
            type=E.EVENT_TYPE_GROUP_FORMED,
            agent_id=BO,
            group=E.GroupDetails(name=group_name, member_ids=[ADA, BO]),
        ),
        E.Event(
            tick=3,
            type=E.EVENT_TYPE_AGENT_DIED,
            agent_id=CY,
            agent_died=E.AgentDiedDetails(cause=common_pb2.DEATH_CAUSE_STARVATION),
        ),
        E.Event(
            tick=3,
            type=E.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED,
            construct=E.ConstructDetails(
                construct_id="c1",
                name=group_name,
                category=E.CONSTRUCT_CATEGORY_GOVERNANCE,
                adherent_ids=[ADA, BO],
            ),
        ),
    ]
    return RunHistory(
        run=run_pb2.Run(id="run-1", config=run_pb2.RunConfig(seed=7)),
        summaries=[summary(0, 3), summary(1, 3), summary(2, 3), summary(3, 2, deaths=1)],
        events=events,
        decisions=[
            DecisionFigures(1, run_pb2.BRAIN_KIND_HEURISTIC, 1.0, 0.0, 0, 0),
            DecisionFigures(1, run_pb2.BRAIN_KIND_LLM, 300.0, 0.002, 120, 30),
            DecisionFigures(2, run_pb2.BRAIN_KIND_LLM, 500.0, 0.004, 100, 20),
        ],
        agents_at_end=[
            AgentAtEnd(ADA, "Ada", True, 30),
            AgentAtEnd(BO, "Bo", True, 10),
            AgentAtEnd(CY, "Cy", False, 0),
        ],
    )


def test_the_analysis_reads_series_firsts_and_causes_from_the_history() -> None:
    analysis = analyze(history())

    assert analysis.ticks == [0, 1, 2, 3]
    assert analysis.alive == [3, 3, 3, 2]
    assert analysis.trade_units == [0, 0, 5, 0]
    assert analysis.resources_held["water"] == [10, 11, 12, 13]
    assert analysis.resources_total["water"] == [15, 16, 17, 18]
    assert analysis.deaths_by_cause == {"starvation": 1}
    firsts = {first.what: (first.tick, first.who, first.detail) for first in analysis.firsts}
    assert firsts["first trade"] == (2, "Ada", "with Bo")
    assert firsts["first group"] == (3, "Bo", "Hearth (2 members)")
    assert [(d.item, d.tick, d.who) for d in analysis.discoveries] == [("pottery", 1, "Ada")]
    assert (analysis.founders, analysis.founders_alive) == (3, 2)


def test_knowledge_spread_counts_living_knowers_and_forgets_the_dead() -> None:
    analysis = analyze(history())

    assert analysis.knowledge_spread["pottery"] == [(1, 1), (2, 2)]
    assert analysis.knowledge_spread["fire"] == [(0, 1)]


def test_the_social_graph_keeps_mutual_trust_between_the_living() -> None:
    analysis = analyze(history())

    # Ada trusts Cy, but Cy never answered and is dead: only Ada–Bo, at the lower of the two.
    assert analysis.graph.edges == [(ADA, BO, 0.4)]
    assert [node[0] for node in analysis.graph.nodes] == [ADA, BO]


def test_decisions_by_brain_have_latency_and_cost() -> None:
    brains = {figures.brain: figures for figures in analyze(history()).decisions_by_brain}

    assert brains["llm"].decisions == 2
    assert brains["llm"].mean_latency_ms == pytest.approx(400.0)
    assert brains["llm"].p95_latency_ms == 500.0
    assert brains["llm"].cost_usd == pytest.approx(0.006)
    assert brains["llm"].tokens_in == 220


def test_comparison_metrics_are_numbers_and_name_each_death_cause() -> None:
    metrics = comparison_metrics(analyze(history()))

    assert metrics["trades"] == 1.0
    assert metrics["survival_rate"] == pytest.approx(2 / 3)
    assert metrics["first_trade_tick"] == 2.0
    assert metrics["llm_calls"] == 2.0
    assert metrics["deaths.starvation"] == 1.0
    assert math.isnan(
        comparison_metrics(analyze(RunHistory(run_pb2.Run(), [], [], [], [])))["gini_end"]
    )


def test_lorenz_curve_runs_from_nothing_to_everything() -> None:
    assert lorenz_curve([0, 0]) == [(0.0, 0.0), (1.0, 1.0)]
    assert lorenz_curve([30, 10]) == [(0.0, 0.0), (0.5, 0.25), (1.0, 1.0)]


def test_confidence_interval_uses_students_t() -> None:
    interval = confidence_interval([1, 2, 3, 4, 5])

    # mean 3, s = √2.5, t(0.975, 4) = 2.776
    assert interval.mean == 3
    assert interval.half_width == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5))
    assert confidence_interval([4.0]).low == 4.0
    assert confidence_interval([math.nan, 2.0, 4.0]).count == 2
    assert t_critical_95(100) == 1.96
    with pytest.raises(ValueError):
        t_critical_95(0)


def test_a_report_is_one_page_with_every_chart_and_no_outside_reference() -> None:
    page = render_run_report(analyze(history()))

    charts = re.findall(r'data-chart="([^"]+)"', page)
    assert charts == [
        "population",
        "births-deaths",
        "deaths-by-cause",
        "gini",
        "lorenz",
        "resources",
        "trades",
        "discoveries",
        "knowledge-spread",
        "social-graph",
        "constructs",
        "decisions-by-brain",
    ]
    assert "<script" not in page
    assert not re.search(r'(src|href)="https?:', page)
    assert "first trade" in page and "tick 2: Ada with Bo" in page


def test_names_from_the_run_are_escaped() -> None:
    hostile = '<script>alert("x")</script>\x00' + "g" * 10_000

    page = render_run_report(analyze(history(group_name=hostile)))

    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_an_empty_run_still_renders_every_chart_with_a_note() -> None:
    page = render_run_report(analyze(RunHistory(run_pb2.Run(id="empty"), [], [], [], [])))

    assert page.count('class="chart"') == 12
    assert "no data" in page


def test_a_comparison_report_shows_each_arm_with_intervals() -> None:
    arm = [analyze(history()), analyze(history())]

    page = render_comparison_report({"balanced": arm, "random": arm[:1]})

    assert "balanced (n=2)" in page and "random (n=1)" in page
    assert "95 % confidence interval" in page


def test_a_forks_founders_are_the_agents_alive_at_its_first_tick() -> None:
    fork = history()
    fork.events = [event for event in fork.events if event.type != E.EVENT_TYPE_AGENT_BORN]
    fork.agents_at_start = [AgentAtEnd(ADA, "Ada", True, 5), AgentAtEnd(CY, "Cy", True, 5)]

    analysis = analyze(fork)

    # Born in the parent's history, so no AgentBorn here: the snapshot names them.
    assert (analysis.founders, analysis.founders_alive) == (2, 1)
    assert comparison_metrics(analysis)["survival_rate"] == 0.5
