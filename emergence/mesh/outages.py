"""Outages of the services under the mesh (PostgreSQL, Redis, NATS) translated to `Unavailable`.

A stopped database, a refused connection or a connection cut mid-query is transient: callers hold
the work and retry. Anything else (a constraint, a type error, a bug) keeps its own error so it
fails loudly instead of being retried forever.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from emergence.mesh.errors import Unavailable

C = TypeVar("C", bound=type)

MESSAGE_LIMIT = 200


def postgres_outage(error: BaseException) -> bool:
    """Connection-level failures (SQLSTATE classes 08 and 57, refused sockets, a closed pool).

    asyncpg's InternalClientError counts too: a server shutting down in the middle of a COPY
    leaves the connection's protocol state torn ("cannot switch to state 15; another operation
    is in progress"); a fresh connection after the outage works.
    """
    import asyncpg

    return isinstance(
        error,
        OSError
        | TimeoutError
        | asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        | asyncpg.InternalClientError
        | asyncpg.exceptions.OperatorInterventionError
        | asyncpg.exceptions.CannotConnectNowError,
    )


def describe(service: str, error: BaseException) -> str:
    text = f"{service} unavailable: {type(error).__name__}: {error}"
    return text[:MESSAGE_LIMIT]


def outages_as_unavailable(
    service: str, is_outage: Callable[[BaseException], bool]
) -> Callable[[C], C]:
    """Class decorator: every public coroutine method raises `Unavailable` on an outage."""

    def decorate(cls: C) -> C:
        for name, method in list(vars(cls).items()):
            if name.startswith("_") or not inspect.iscoroutinefunction(method):
                continue
            setattr(cls, name, _translated(method, service, is_outage))
        return cls

    return decorate


def _translated(
    method: Callable[..., Awaitable[Any]], service: str, is_outage: Callable[[BaseException], bool]
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except Unavailable:
            raise
        except Exception as error:
            if is_outage(error):
                raise Unavailable(
                    describe(service, error), hint=f"waiting for {service}"
                ) from error
            raise

    return wrapped
