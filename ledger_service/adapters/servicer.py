"""The grpc.aio servicer of emergence.v1.Ledger: proto in, keeper call, proto out."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from emergence.mesh import metrics
from emergence.mesh.errors import EmergenceError, InvalidArgument, Unauthenticated
from emergence.mesh.limits import quote
from emergence.mesh.security import run_key_matches
from emergence.v1 import ledger_pb2, ledger_service_pb2_grpc
from emergence.v1 import ledger_service_pb2 as pb
from ledger_service.adapters import convert
from ledger_service.adapters.keeper import BookKeeper
from ledger_service.adapters.store import HistoryQuery
from ledger_service.core import ENTITY_TYPES, Rejection
from ledger_service.core.entries import MALFORMED_CODES

MAX_STORED_TICK = 2**63 - 1

DIGEST_CHARS = 64
ENTRY_TEXT_CHARS = 1_000
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
# How many malformed entries one INVALID_ARGUMENT message lists before summarising.
LISTED_PROBLEMS = 5


def malformed_message(rejections: tuple[Rejection, ...]) -> str:
    """'entries[12].quantity: must be a positive whole number, got 0' (and the next few)."""
    malformed = [r for r in rejections if r.code in MALFORMED_CODES]
    shown = "; ".join(r.message for r in malformed[:LISTED_PROBLEMS])
    more = len(malformed) - LISTED_PROBLEMS
    return shown + (f"; and {more} more malformed entries" if more > 0 else "")


def encode_page_token(tick: int, position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{tick}:{position}".encode()).decode()


def decode_page_token(token: str) -> tuple[int, int]:
    try:
        version, tick, position = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if version != "v1":
            raise ValueError(version)
        return int(tick), int(position)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidArgument(
            f"page_token: {token!r} is not a token this service issued",
            hint="pass next_page_token from the previous History reply, or leave it empty",
        ) from error


def rejection_label(code: int) -> str:
    """A LedgerRejectionCode as a metric label ("INSUFFICIENT_BALANCE")."""
    try:
        name = ledger_pb2.LedgerRejectionCode.Name(code)  # type: ignore[arg-type]
    except ValueError:
        return "OTHER"
    return name.removeprefix("LEDGER_REJECTION_CODE_")


def _account_filter(field: str, entity_type: int, entity_id: str) -> tuple[str, str]:
    name = convert.entity_type_name(entity_type)
    if name not in ENTITY_TYPES:
        raise InvalidArgument(
            f"{field}.entity_type: unknown entity type {name!r}",
            hint=f"use one of {', '.join(sorted(ENTITY_TYPES))}",
        )
    return name, entity_id


def check_digest(digest: str) -> None:
    """The engine's digest is required and a SHA-256 in hex: without it nothing is compared."""
    if len(digest) != DIGEST_CHARS or not all(c in "0123456789abcdef" for c in digest):
        raise InvalidArgument(
            f"engine_digest: must be the engine's SHA-256 balance digest (64 lowercase hex "
            f"characters), got {quote(digest)}",
            hint="send the digest of the engine's balances after the tick",
        )


def check_entry_texts(entries: Sequence[ledger_pb2.LedgerEntry]) -> None:
    """Ids and memos short and free of NUL (they go into text columns as they are)."""
    for index, entry in enumerate(entries):
        for name, value in (
            ("id", entry.id),
            ("memo", entry.memo),
            ("correlation_id", entry.correlation_id),
            ("from_account.entity_id", entry.from_account.entity_id),
            ("to_account.entity_id", entry.to_account.entity_id),
        ):
            if len(value) > ENTRY_TEXT_CHARS or "\x00" in value:
                raise InvalidArgument(
                    f"entries[{index}].{name}: at most {ENTRY_TEXT_CHARS} characters without NUL, "
                    f"got {quote(value)}"
                )


def _bearer(context: Any) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return str(value[len("Bearer ") :])
    return ""


class LedgerServicer(ledger_service_pb2_grpc.LedgerServicer):
    """With a service token, CommitTick and Rewind need the run's key (its own engine); reads
    stay open to anyone who can reach the ledger (verify, dashboards)."""

    def __init__(self, keeper: BookKeeper, service_token: str = "") -> None:
        self.keeper = keeper
        self.service_token = service_token

    def _authorize(self, context: Any, run_id: str, call: str) -> None:
        if not self.service_token:
            return
        supplied = _bearer(context)
        if not supplied:
            raise Unauthenticated(
                f"{call} needs the run's key: send 'authorization: Bearer <run key>'",
                hint="only the run's engine, started with the ledger's SERVICE_TOKEN, may write",
            )
        if not run_key_matches(self.service_token, run_id, supplied):
            raise Unauthenticated(
                f"{call}: the key does not belong to run {quote(run_id)}",
                hint="start the engine with the same SERVICE_TOKEN as the ledger",
            )

    async def CommitTick(
        self, request: pb.CommitTickRequest, context: Any
    ) -> pb.CommitTickResponse:
        with metrics.LEDGER_COMMIT_SECONDS.time():
            try:
                self._authorize(context, request.run_id, "CommitTick")
                reply = await self._commit_tick(request)
            except EmergenceError as error:
                metrics.LEDGER_COMMITS.labels("refused").inc()
                metrics.LEDGER_REJECTIONS.labels(error.status_code.name).inc()
                raise
        outcome = "duplicate" if reply.duplicate else "applied" if reply.applied else "rejected"
        metrics.LEDGER_COMMITS.labels(outcome).inc()
        for rejection in reply.rejections:
            metrics.LEDGER_REJECTIONS.labels(rejection_label(rejection.code)).inc()
        return reply

    async def _commit_tick(self, request: pb.CommitTickRequest) -> pb.CommitTickResponse:
        check_digest(request.engine_digest)
        check_entry_texts(request.entries)
        entries = convert.entries_from_proto(request.entries)
        outcome = await self.keeper.commit_tick(
            request.run_id, request.tick, entries, request.engine_digest, final=request.final
        )
        if any(r.code in MALFORMED_CODES for r in outcome.rejections):
            raise InvalidArgument(
                malformed_message(outcome.rejections),
                hint="fix the named entries; nothing of this tick was applied",
            )
        return pb.CommitTickResponse(
            applied=outcome.applied,
            duplicate=outcome.duplicate,
            ledger_digest=outcome.digest,
            rejections=[convert.rejection_to_proto(r) for r in outcome.rejections],
            anomalies=[convert.anomaly_to_proto(a) for a in outcome.anomalies],
            entries_applied=outcome.entries_applied,
            check_ms=outcome.check_ms,
        )

    async def GetBalances(
        self, request: pb.GetBalancesRequest, context: Any
    ) -> pb.GetBalancesResponse:
        accounts = [
            _account_filter(f"accounts[{index}]", ref.entity_type, ref.entity_id)
            for index, ref in enumerate(request.accounts)
        ]
        resource = convert.resource_name(request.resource) if request.resource else None
        balances, last_tick = await self.keeper.balances(
            request.run_id, accounts, resource, request.include_zero
        )
        return pb.GetBalancesResponse(
            balances=[convert.balance_to_proto(key, quantity) for key, quantity in balances],
            last_tick=last_tick,
        )

    async def History(self, request: pb.HistoryRequest, context: Any) -> pb.HistoryResponse:
        if request.page_size > MAX_PAGE_SIZE:
            raise InvalidArgument(
                f"page_size: at most {MAX_PAGE_SIZE}, got {request.page_size}",
                hint="page through with next_page_token",
            )
        if request.to_tick and request.to_tick < request.from_tick:
            raise InvalidArgument(
                f"to_tick: {request.to_tick} is before from_tick {request.from_tick}",
                hint="leave to_tick 0 for no upper bound",
            )
        account = None
        if request.HasField("account") and request.account.entity_type:
            account = _account_filter(
                "account", request.account.entity_type, request.account.entity_id
            )
        query = HistoryQuery(
            run_id=request.run_id,
            from_tick=request.from_tick,
            to_tick=request.to_tick or None,
            account=account,
            resource=convert.resource_name(request.resource) if request.resource else None,
            after=decode_page_token(request.page_token) if request.page_token else None,
            limit=request.page_size or DEFAULT_PAGE_SIZE,
        )
        rows, more = await self.keeper.history(query)
        token = encode_page_token(rows[-1].tick, rows[-1].position) if more and rows else ""
        return pb.HistoryResponse(
            entries=[convert.entry_to_proto(row.entry) for row in rows], next_page_token=token
        )

    async def Verify(self, request: pb.VerifyRequest, context: Any) -> pb.VerifyResponse:
        outcome = await self.keeper.verify(request.run_id)
        result = outcome.result
        return pb.VerifyResponse(
            ok=result.ok,
            last_tick=outcome.last_tick,
            entries_checked=result.entries_checked,
            resources=[convert.totals_to_proto(t) for t in result.totals],
            anomalies=[convert.anomaly_to_proto(a) for a in result.anomalies],
            ledger_digest=result.digest,
            verify_ms=outcome.verify_ms,
        )

    async def Rewind(self, request: pb.RewindRequest, context: Any) -> pb.RewindResponse:
        try:
            self._authorize(context, request.run_id, "Rewind")
        except Unauthenticated:
            metrics.LEDGER_REJECTIONS.labels("UNAUTHENTICATED").inc()
            raise
        if request.tick > MAX_STORED_TICK:
            # uint64 on the wire, signed 64-bit in the stores: past this no tick can exist
            raise InvalidArgument(f"tick {request.tick} is beyond any stored tick")
        outcome = await self.keeper.rewind(request.run_id, request.tick)
        return pb.RewindResponse(
            entries_removed=outcome.entries_removed,
            last_tick=outcome.last_tick,
            ledger_digest=outcome.digest,
        )
