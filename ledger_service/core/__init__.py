"""The pure double-entry book of the ledger: accounts, posting rules, digests, verification."""

from ledger_service.core.accounts import ENTITY_TYPES, ENTRY_TYPES, RESOURCES, Account, account
from ledger_service.core.audit import AuditResult, Replay, ResourceTotals, conservation
from ledger_service.core.book import Book, TickPlan
from ledger_service.core.digest import balance_digest, payload_hash
from ledger_service.core.entries import Anomaly, Entry, Rejection, RejectionCode
from ledger_service.core.rules import ALLOWED_PAIRS

__all__ = [
    "ALLOWED_PAIRS",
    "ENTITY_TYPES",
    "ENTRY_TYPES",
    "RESOURCES",
    "Account",
    "Anomaly",
    "AuditResult",
    "Book",
    "Entry",
    "Rejection",
    "RejectionCode",
    "Replay",
    "ResourceTotals",
    "TickPlan",
    "account",
    "balance_digest",
    "conservation",
    "payload_hash",
]
