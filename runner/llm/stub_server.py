"""A stub OpenAI-compatible model server on loopback that answers from the heuristic brain.

It reads the <perception-json> block out of the prompt (a backend sends it only with
`include_perception_json: true`), lets the heuristic brain decide, and answers in the prompt's
response format, optionally slow, malformed or rate limited. A prompt without a readable block
gets a plain-text error reply, which the runner records as an unusable reply.
    emergence stub-llm --port 8001 --latency-ms 20 --malformed-rate 0.2 --rate-limit-rate 0.1
With `--policy random` it answers without judgement instead: an action type drawn at random
among those the heuristic brain would consider, then one of its candidates of that type; a
society benchmark beside the heuristic shows how much of the society the mind's choices make.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format

from emergence.v1 import perception_pb2, run_pb2
from runner.core.actions import DecisionOutcome, action_type_of, describe
from runner.core.heuristic import HeuristicBrain
from runner.core.memory import AgentMemory, observe, reflect
from runner.core.situation import Situation
from runner.core.vocabulary import RESOURCE_NAMES, STRUCTURE_NAMES

PERCEPTION_BLOCK = re.compile(r"<perception-json>(.*?)</perception-json>", re.S)
MAX_BODY_BYTES = 8 * 1024 * 1024
# Plain text with no JSON object in it: the runner's parser finds no action and falls back.
NO_PERCEPTION_REPLY = (
    "stub-llm error: {problem}, so the stub cannot decide. It answers from the perception, not "
    "from the readable prompt: set include_perception_json: true on this backend in the llm: "
    "settings."
)


POLICIES = ("heuristic", "random")


@dataclass
class StubCounters:
    requests: int = 0
    rate_limited: int = 0
    malformed: int = 0
    without_perception: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    models: dict[str, int] = field(default_factory=dict)


class StubServer:
    def __init__(
        self, *, latency_ms: float = 0.0, malformed_rate: float = 0.0,
        rate_limit_rate: float = 0.0, seed: int = 0, policy: str = "heuristic",
    ) -> None:  # fmt: skip
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {policy[:40]!r}")
        self.policy = policy
        self.latency_ms = latency_ms
        self.malformed_rate = malformed_rate
        self.rate_limit_rate = rate_limit_rate
        self.rng = random.Random(seed)
        self.brain = HeuristicBrain(seed)
        self.memories: dict[str, AgentMemory] = {}
        self._learned_tick: dict[str, int] = {}
        self.counters = StubCounters()
        self.server: asyncio.Server | None = None
        self.port = 0
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self._connection, host, port)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            # Open keep-alive connections end too, so no handler outlives the server.
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self.server.wait_closed()
            self.server = None

    # ----- HTTP --------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, path, body = request
                status, payload = await self._route(method, path, body)
                _write_response(writer, status, payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _route(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        path = path.split("?", 1)[0].rstrip("/")
        if method == "GET" and path.endswith("/models"):
            models = [
                {"id": name, "object": "model", "owned_by": "stub"}
                for name in ("stub-small", "stub-large")
            ]
            return 200, {"object": "list", "data": models}
        chat = method == "POST" and path.endswith("/chat/completions")
        # Anthropic's Messages API, so the anthropic backend kind runs for real too.
        anthropic = method == "POST" and path.endswith("/messages")
        if chat or anthropic:
            try:
                request = json.loads(body or b"{}")
            except json.JSONDecodeError:
                return 400, _error("the body is not JSON")
            if not isinstance(request, dict):
                return 400, _error("the body is not a JSON object")
            return await (self._complete(request) if chat else self._message(request))
        return 404, _error(f"no route {method} {path}")

    async def _reply_text(self, model: str, prompt: str) -> tuple[int, str, int, int]:
        """Status, text and token counts for one prompt, with the configured latency and 429s."""
        self.counters.requests += 1
        self.counters.models[model] = self.counters.models.get(model, 0) + 1
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        if self.rng.random() < self.rate_limit_rate:
            self.counters.rate_limited += 1
            return 429, "", 0, 0
        text = self._answer(prompt)
        prompt_tokens = max(1, len(prompt) // 4)
        completion_tokens = max(1, len(text) // 4)
        self.counters.prompt_tokens += prompt_tokens
        self.counters.completion_tokens += completion_tokens
        return 200, text, prompt_tokens, completion_tokens

    async def _message(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model = str(request.get("model", "stub"))
        parts = [_text(request.get("system", ""))]
        parts += [
            _text(m.get("content", ""))
            for m in request.get("messages") or []
            if isinstance(m, dict)
        ]
        status, text, prompt_tokens, completion_tokens = await self._reply_text(
            model, "\n".join(parts)
        )
        if status != 200:
            return status, {
                "type": "error",
                "error": {"type": "rate_limit_error", "message": "rate limited: slow down"},
            }
        return 200, {
            "id": f"stub-{self.counters.requests}", "type": "message", "role": "assistant",
            "model": model, "stop_reason": "end_turn",
            "content": [{"type": "text", "text": text}],
            "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
        }  # fmt: skip

    async def _complete(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model = str(request.get("model", "stub"))
        messages = request.get("messages") or []
        prompt = "\n".join(_text(m.get("content", "")) for m in messages if isinstance(m, dict))
        status, text, prompt_tokens, completion_tokens = await self._reply_text(model, prompt)
        if status != 200:
            return status, _error("rate limited: slow down")
        return 200, {
            "id": f"stub-{self.counters.requests}",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }  # fmt: skip

    # ----- answers -----------------------------------------------------------------------
    def _answer(self, prompt: str) -> str:
        match = PERCEPTION_BLOCK.search(prompt)
        perception = perception_pb2.Perception()
        problem = "the prompt has no <perception-json> block"
        if match is not None and match.group(1).strip():
            try:
                json_format.Parse(match.group(1), perception)
                problem = ""
            except json_format.ParseError as error:
                detail = str(error)[:200].replace("{", "(").replace("}", ")")
                problem = f"the <perception-json> block does not parse ({detail})"
        if problem:
            self.counters.without_perception += 1
            return NO_PERCEPTION_REPLY.format(problem=problem)
        memory = self.memories.setdefault(perception.agent_id, AgentMemory(perception.agent_id))
        self._learn_last_result(memory, perception)
        observe(memory, perception)
        outcome = (
            self._random_choice(perception, memory)
            if self.policy == "random"
            else self.brain.decide(perception, memory)
        )
        reply = {
            "action": outcome.action.WhichOneof("params") or "no_action",
            "parameters": _parameters(outcome.action),
            "reasoning": outcome.reasoning or describe(outcome.action),
            "goal_update": outcome.goal_update,
        }
        if self.rng.random() < self.malformed_rate:
            self.counters.malformed += 1
            return self._malformed(reply)
        return json.dumps(reply)

    def _random_choice(
        self, perception: perception_pb2.Perception, memory: AgentMemory
    ) -> DecisionOutcome:
        """No judgement: a random action type among the brain's candidates, then a random one of
        that type (so that a type with many candidates is not favoured)."""
        rng = random.Random(f"{self.brain.seed}:{perception.tick}:{perception.agent_id}:random")
        candidates = self.brain.candidates(Situation.read(perception, memory, rng))
        by_type: dict[str, list[Any]] = {}
        for candidate in candidates:
            by_type.setdefault(action_type_of(candidate.action), []).append(candidate)
        chosen = rng.choice(by_type[rng.choice(sorted(by_type))])
        return DecisionOutcome(
            chosen.action, f"at random: {describe(chosen.action)}", "", run_pb2.BRAIN_KIND_LLM
        )

    def _learn_last_result(
        self, memory: AgentMemory, perception: perception_pb2.Perception
    ) -> None:
        """The stub never sees the engine's results, only the perception that reports the last
        one; without it the heuristic behind the stub would repeat refused actions forever."""
        result = perception.last_result
        if not perception.HasField("last_result") or result.agent_id != perception.agent_id:
            return
        if self._learned_tick.get(perception.agent_id) == result.tick:
            return  # the same perception again (a retried call): learn it once
        self._learned_tick[perception.agent_id] = result.tick
        reflect(memory, result)

    def _malformed(self, reply: dict[str, Any]) -> str:
        """One of the ways real models go wrong, some repairable and some not."""
        text = json.dumps(reply)
        kind = self.rng.randrange(5)
        if kind == 0:
            return f"Here is my choice:\n```json\n{text[:-1]},}}\n```"
        if kind == 1:
            return text[: max(10, len(text) * 2 // 3)]
        if kind == 2:
            return "I think I should look around before deciding anything."
        if kind == 3:
            return json.dumps({**reply, "action": "levitate"})
        return text.replace('"', "'")


def _text(content: Any) -> str:
    """Message content as text: a plain string, or a list of {"type": "text", "text": ...} blocks."""
    if isinstance(content, list):
        return "".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return str(content)


def _parameters(action: Any) -> dict[str, Any]:
    kind = action.WhichOneof("params")
    if kind is None:
        return {}
    params = getattr(action, kind)
    values: dict[str, Any] = {}
    for field_descriptor, value in params.ListFields():
        enum = field_descriptor.enum_type.name if field_descriptor.enum_type else ""
        if enum == "Resource":
            values[field_descriptor.name] = RESOURCE_NAMES[value].lower()
        elif enum == "StructureKind":
            values[field_descriptor.name] = STRUCTURE_NAMES[value].lower()
        elif enum:
            values[field_descriptor.name] = field_descriptor.enum_type.values_by_number[value].name
        elif field_descriptor.message_type is not None:
            amounts = value if field_descriptor.is_repeated else [value]
            listed = [
                {"resource": RESOURCE_NAMES[a.resource].lower(), "quantity": a.quantity}
                for a in amounts
            ]
            values[field_descriptor.name] = listed if field_descriptor.is_repeated else listed[0]
        elif field_descriptor.is_repeated:
            values[field_descriptor.name] = list(value)
        else:
            values[field_descriptor.name] = value
    return values


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "stub_error"}}


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    line = await reader.readline()
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    length = 0
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length > MAX_BODY_BYTES:
        raise ValueError("request body too large")
    body = await reader.readexactly(length) if length else b""
    return method, path, body


def _write_response(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}
    body = json.dumps(payload).encode()
    head = (
        f"HTTP/1.1 {status} {reasons.get(status, 'Error')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)


async def start_stub_llm(host: str = "127.0.0.1", port: int = 0, **options: Any) -> StubServer:
    """Start the stub; options: latency_ms, malformed_rate, rate_limit_rate, seed, policy."""
    server = StubServer(**options)
    await server.start(host, port)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emergence stub-llm", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--malformed-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--policy", choices=POLICIES, default="heuristic", help="how the stub chooses an action"
    )
    arguments = parser.parse_args(argv)

    async def serve() -> None:
        server = await start_stub_llm(
            arguments.host, arguments.port, latency_ms=arguments.latency_ms,
            malformed_rate=arguments.malformed_rate, rate_limit_rate=arguments.rate_limit_rate,
            seed=arguments.seed, policy=arguments.policy,
        )  # fmt: skip
        print(f"stub LLM on http://{arguments.host}:{server.port}/v1", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
