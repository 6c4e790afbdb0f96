"""The rendered Envoy gateway config passes `envoy --mode validate`; bad inputs are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emergence.mesh.errors import ConfigurationError
from gateway.launcher import envoy_binary, validate_config
from gateway.render import PUBLIC_SERVICES, render_envoy_config, static_files


@pytest.fixture
def dashboard(tmp_path: Path) -> Path:
    folder = tmp_path / "dashboard"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>Emergence</title>")
    (folder / "assets" / "app.js").write_text("console.log('emergence')")
    (folder / "assets" / "style sheet.css").write_text("body { margin: 0 }")
    return folder


def routes(config_text: str) -> list[dict[str, object]]:
    config = yaml.safe_load(config_text)
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    virtual_host = manager["typed_config"]["route_config"]["virtual_hosts"][0]
    found: list[dict[str, object]] = virtual_host["routes"]
    return found


async def test_rendered_config_with_dashboard_validates(dashboard: Path) -> None:
    config_text = render_envoy_config(18080, "127.0.0.1:50051", 19901, dashboard)

    await validate_config(config_text)


async def test_rendered_config_without_dashboard_and_with_host_name_validates() -> None:
    config_text = render_envoy_config(18080, "localhost:50051", 19901, None)

    await validate_config(config_text)
    cluster = yaml.safe_load(config_text)["static_resources"]["clusters"][0]
    assert cluster["type"] == "STRICT_DNS"


async def test_envoy_rejects_a_broken_config_with_its_own_reason() -> None:
    broken = render_envoy_config(18080, "127.0.0.1:50051", 19901, None).replace(
        "grpc_web.v3.GrpcWeb", "grpc_web.v3.NoSuchFilter"
    )

    with pytest.raises(ConfigurationError, match="NoSuchFilter"):
        await validate_config(broken)


def test_only_the_public_services_are_routed_and_never_time_out(dashboard: Path) -> None:
    config_text = render_envoy_config(18080, "127.0.0.1:50051", 19901, dashboard)

    proxied = [route for route in routes(config_text) if "route" in route]
    to_services = [route for route in proxied if "headers" not in route["match"]]  # type: ignore[operator]
    preflights = [route for route in proxied if "headers" in route["match"]]  # type: ignore[operator]

    assert [route["match"] for route in to_services] == [
        {"prefix": f"/{service}/"} for service in PUBLIC_SERVICES
    ]
    assert [route["route"]["cluster"] for route in to_services] == [  # type: ignore[index]
        "observer",
        "operator",
        "experiments",
    ]
    assert all(route["route"]["timeout"] == "0s" for route in to_services)  # type: ignore[index]
    assert [route["match"]["prefix"] for route in preflights] == ["/api/v1/"]  # type: ignore[index]
    assert "emergence.v1.Ledger" not in config_text


def test_each_service_can_have_its_own_address() -> None:
    config = yaml.safe_load(
        render_envoy_config(
            18080,
            "127.0.0.1:50051",
            19901,
            None,
            service_addresses={"emergence.v1.Observer": "observer.internal:50054"},
        )
    )
    clusters = {
        cluster["name"]: cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"][
            "address"
        ]["socket_address"]
        for cluster in config["static_resources"]["clusters"]
    }
    assert clusters == {
        "observer": {"address": "observer.internal", "port_value": 50054},
        "operator": {"address": "127.0.0.1", "port_value": 50051},
        "experiments": {"address": "127.0.0.1", "port_value": 50051},
    }
    with pytest.raises(ConfigurationError, match="not a public service"):
        render_envoy_config(
            18080, "127.0.0.1:50051", 19901, None, service_addresses={"emergence.v1.Ledger": "x:1"}
        )


def test_dashboard_files_are_served_by_path_and_index_at_the_root(dashboard: Path) -> None:
    served = {file.url_path: Path(file.file_path).name for file in static_files(dashboard)}

    assert served == {
        "/": "index.html",
        "/index.html": "index.html",
        "/assets/app.js": "app.js",
        "/assets/style%20sheet.css": "style sheet.css",
    }


def test_transcoder_reads_the_committed_descriptor_set() -> None:
    config = yaml.safe_load(render_envoy_config(18080, "127.0.0.1:50051", 19901, None))
    filters = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    http_filters = {item["name"]: item for item in filters["typed_config"]["http_filters"]}

    transcoder = http_filters["envoy.filters.http.grpc_json_transcoder"]["typed_config"]

    assert Path(transcoder["proto_descriptor"]).is_file()
    assert transcoder["services"] == list(PUBLIC_SERVICES)
    assert list(http_filters)[-1] == "envoy.filters.http.router"


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ((0, "127.0.0.1:50051", 19901, None), "gateway listen port"),
        ((18080, "127.0.0.1:50051", 70000, None), "gateway admin port"),
        ((18080, "127.0.0.1:50051", 18080, None), "also the listen port"),
        ((18080, "127.0.0.1", 19901, None), "is not host:port"),
        ((18080, ":50051", 19901, None), "is not host:port"),
        ((18080, "127.0.0.1:50051", 19901, "/no/such/folder"), "is not a folder"),
    ],
)
def test_bad_arguments_name_the_setting_and_the_fix(
    arguments: tuple[int, str, int, str | None], complaint: str
) -> None:
    with pytest.raises(ConfigurationError, match=complaint) as raised:
        render_envoy_config(*arguments)

    assert raised.value.hint, "every refusal should say what to do"


def test_missing_descriptor_set_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="make proto"):
        render_envoy_config(
            18080, "127.0.0.1:50051", 19901, None, descriptor_path=tmp_path / "missing.pb"
        )


def test_envoy_binary_comes_from_the_wheel() -> None:
    assert envoy_binary().is_file()
