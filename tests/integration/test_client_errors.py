"""The SDK's own failures are statuses too: a server that never answers is DEADLINE_EXCEEDED."""

from __future__ import annotations

import asyncio

import pytest

from emergence.client import ExperimentError, v1
from emergence.client.experiment import Connection, split_address


async def test_a_server_that_never_answers_is_a_deadline_not_a_hang() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writers.append(writer)
        while await reader.read(65536):  # read whatever comes, answer nothing, never hang up
            pass

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = Connection(f"127.0.0.1:{port}", timeout_seconds=0.5)
    try:
        with pytest.raises(ExperimentError) as caught:
            await connection.call(connection.experiments.get_run, v1.GetRunRequest(run_id="x"))
    finally:
        connection.close()
        server.close()
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        await server.wait_closed()

    assert caught.value.status == "DEADLINE_EXCEEDED"


@pytest.mark.parametrize("address", ["", "localhost", "host:0", "host:70000", "x" * 10_000])
def test_an_address_that_cannot_be_one_is_refused_before_any_socket(address: str) -> None:
    with pytest.raises(ValueError) as caught:
        split_address(address)

    assert len(str(caught.value)) < 120
