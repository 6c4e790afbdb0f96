"""Protobuf <-> domain for the ledger: entries, balances, rejections, anomalies, totals."""

from __future__ import annotations

from collections.abc import Iterable

from emergence.v1 import common_pb2, ledger_pb2
from ledger_service.core import Account, Anomaly, Entry, Rejection, ResourceTotals


def _names(enum: object, prefix: str) -> dict[int, str]:
    """Enum number -> name without prefix; unknown numbers are looked up as "#<n>"."""
    descriptor = enum.DESCRIPTOR  # type: ignore[attr-defined]
    return {value.number: value.name.removeprefix(prefix) for value in descriptor.values}


ENTRY_TYPE_NAMES = _names(ledger_pb2.EntryType, "ENTRY_TYPE_")
ENTITY_TYPE_NAMES = _names(ledger_pb2.EntityType, "ENTITY_TYPE_")
RESOURCE_NAMES = _names(common_pb2.Resource, "RESOURCE_")
ENTRY_TYPE_NUMBERS = {name: number for number, name in ENTRY_TYPE_NAMES.items()}
ENTITY_TYPE_NUMBERS = {name: number for number, name in ENTITY_TYPE_NAMES.items()}
RESOURCE_NUMBERS = {name: number for number, name in RESOURCE_NAMES.items()}


def _name(names: dict[int, str], number: int) -> str:
    name = names.get(number)
    return name if name is not None else f"#{number}"


def entity_type_name(number: int) -> str:
    return _name(ENTITY_TYPE_NAMES, number)


def resource_name(number: int) -> str:
    return _name(RESOURCE_NAMES, number)


def entry_from_proto(message: ledger_pb2.LedgerEntry) -> Entry:
    source, target = message.from_account, message.to_account
    return Entry(
        tick=message.tick,
        entry_type=_name(ENTRY_TYPE_NAMES, message.entry_type),
        from_type=_name(ENTITY_TYPE_NAMES, source.entity_type),
        from_id=source.entity_id,
        to_type=_name(ENTITY_TYPE_NAMES, target.entity_type),
        to_id=target.entity_id,
        resource=_name(RESOURCE_NAMES, message.resource),
        quantity=message.quantity,
        memo=message.memo,
        correlation_id=message.correlation_id,
        id=message.id,
    )


def entries_from_proto(messages: Iterable[ledger_pb2.LedgerEntry]) -> list[Entry]:
    return [entry_from_proto(message) for message in messages]


def account_ref(entity_type: str, entity_id: str) -> ledger_pb2.AccountRef:
    return ledger_pb2.AccountRef(
        entity_type=ENTITY_TYPE_NUMBERS.get(entity_type, 0),  # type: ignore[arg-type]
        entity_id=entity_id,
    )


def entry_to_proto(entry: Entry) -> ledger_pb2.LedgerEntry:
    return ledger_pb2.LedgerEntry(
        id=entry.id,
        tick=entry.tick,
        entry_type=ENTRY_TYPE_NUMBERS.get(entry.entry_type, 0),  # type: ignore[arg-type]
        from_account=account_ref(entry.from_type, entry.from_id),
        to_account=account_ref(entry.to_type, entry.to_id),
        resource=RESOURCE_NUMBERS.get(entry.resource, 0),  # type: ignore[arg-type]
        quantity=entry.quantity,
        memo=entry.memo,
        correlation_id=entry.correlation_id,
    )


def balance_to_proto(key: Account, quantity: int) -> ledger_pb2.Balance:
    return ledger_pb2.Balance(
        account=account_ref(key[0], key[1]),
        resource=RESOURCE_NUMBERS.get(key[2], 0),  # type: ignore[arg-type]
        quantity=quantity,
    )


def rejection_to_proto(rejection: Rejection) -> ledger_pb2.EntryRejection:
    return ledger_pb2.EntryRejection(
        entry_index=rejection.entry_index,
        code=int(rejection.code),  # type: ignore[arg-type]
        message=rejection.message,
        field=rejection.field,
    )


def anomaly_to_proto(anomaly: Anomaly) -> ledger_pb2.LedgerAnomaly:
    return ledger_pb2.LedgerAnomaly(
        code=anomaly.code,
        message=anomaly.message,
        resource=RESOURCE_NUMBERS.get(anomaly.resource, 0),  # type: ignore[arg-type]
        expected=anomaly.expected,
        actual=anomaly.actual,
    )


def totals_to_proto(totals: ResourceTotals) -> ledger_pb2.ResourceConservation:
    return ledger_pb2.ResourceConservation(
        resource=RESOURCE_NUMBERS.get(totals.resource, 0),  # type: ignore[arg-type]
        world_in=totals.world_in,
        void_out=totals.void_out,
        held=totals.held,
        conserved=totals.conserved,
    )
