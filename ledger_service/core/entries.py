"""The ledger's domain records: an entry (one movement), a rejection, an anomaly."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ledger_service.core.accounts import Account, account


@dataclass(frozen=True, slots=True)
class Entry:
    """Move `quantity` units of `resource` from one account to another during `tick`.

    Types and resources are protobuf enum names without prefix ("AGENT", "WOOD"). `quantity`
    is typed int, but callers of the Python API may pass anything: the rules reject it as a value.
    """

    tick: int
    entry_type: str
    from_type: str
    from_id: str
    to_type: str
    to_id: str
    resource: str
    quantity: int
    memo: str = ""
    correlation_id: str = ""
    id: str = ""

    @property
    def from_account(self) -> Account:
        return account(self.from_type, self.from_id, self.resource)

    @property
    def to_account(self) -> Account:
        return account(self.to_type, self.to_id, self.resource)


class RejectionCode(IntEnum):
    """Why an entry was refused, in precedence order; numbers equal LedgerRejectionCode."""

    ENTRY_TYPE_UNKNOWN = 1
    RESOURCE_UNKNOWN = 2
    QUANTITY_NOT_POSITIVE = 3
    FROM_ENTITY_TYPE_UNKNOWN = 4
    TO_ENTITY_TYPE_UNKNOWN = 5
    FROM_ENTITY_ID_MISSING = 6
    TO_ENTITY_ID_MISSING = 7
    SAME_ACCOUNT = 8
    PAIR_NOT_ALLOWED = 9
    INSUFFICIENT_BALANCE = 10
    TICK_MISMATCH = 11
    UNBACKED_MINT = 12


# Codes that mean the request itself is malformed (the shell answers INVALID_ARGUMENT);
# the rest are rule outcomes reported as values.
MALFORMED_CODES = frozenset(code for code in RejectionCode if code <= RejectionCode.SAME_ACCOUNT)


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused entry: its index in the tick, the code, the field at fault, and why."""

    entry_index: int
    code: RejectionCode
    field: str
    reason: str

    @property
    def message(self) -> str:
        return f"entries[{self.entry_index}].{self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Something the ledger found wrong but does not fix: it reports, a person decides."""

    code: str
    message: str
    resource: str = ""
    expected: int = 0
    actual: int = 0
