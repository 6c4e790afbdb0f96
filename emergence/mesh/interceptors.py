"""Server interceptors: structured access logs, error tree -> status mapping, bearer-token auth.

Every request is checked here once for every service (emergence.mesh.validation): undecodable
bytes and NUL bytes in text fields are INVALID_ARGUMENT before any servicer sees them. A method
whose servicer checks every field of every request itself (the engine's runner stream, whose
limit checks refuse NUL too) is declared by its binding and skips the NUL scan, not the decoding.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeAlias

import grpc

from emergence.mesh.errors import EmergenceError
from emergence.mesh.redact import redact_text
from emergence.mesh.validation import check_request, shorten_message, tolerant_deserializer

# the stubs make the handler generic; at run time it is a plain class
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"

log = logging.getLogger("emergence.rpc")

Behaviour = Callable[..., Any]


def _status_message(error: EmergenceError) -> str:
    return shorten_message(redact_text(str(error)))


def _unimplemented_message(method: str) -> str:
    return f"{method} is not implemented yet by this server"


async def _checked(requests: AsyncIterator[Any], scan_text: bool) -> AsyncIterator[Any]:
    async for request in requests:
        check_request(request, scan_text=scan_text)
        yield request


def _first_argument(request: Any, streaming_requests: bool, scan_text: bool = True) -> Any:
    if streaming_requests:
        return _checked(request, scan_text)
    check_request(request, scan_text=scan_text)
    return request


def _wrap_unary(behaviour: Behaviour, method: str, streaming_requests: bool = False) -> Behaviour:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        started = time.perf_counter()
        try:
            return await behaviour(_first_argument(request, streaming_requests), context)
        except EmergenceError as error:
            log.info("rpc %s failed: %s", method, _status_message(error))
            await context.abort(error.status_code, _status_message(error))
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except NotImplementedError:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, _unimplemented_message(method))
        except Exception:
            log.exception("rpc %s crashed", method)
            await context.abort(
                grpc.StatusCode.INTERNAL, f"{method}: internal error (see server log)"
            )
        finally:
            log.debug("rpc %s took %.2f ms", method, (time.perf_counter() - started) * 1000)

    return wrapped


def _wrap_stream(
    behaviour: Behaviour, method: str, streaming_requests: bool = False, scan_text: bool = True
) -> Behaviour:
    async def wrapped(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        try:
            first = _first_argument(request, streaming_requests, scan_text)
            async for item in behaviour(first, context):
                yield item
        except EmergenceError as error:
            log.info("stream %s failed: %s", method, _status_message(error))
            await context.abort(error.status_code, _status_message(error))
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except NotImplementedError:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, _unimplemented_message(method))
        except Exception:
            log.exception("stream %s crashed", method)
            await context.abort(
                grpc.StatusCode.INTERNAL, f"{method}: internal error (see server log)"
            )

    return wrapped


def _rewrap(handler: Handler, method: str, scan_text: bool = True) -> Handler:
    # Bad bytes reach the wrapped behaviour as a value it refuses, not as an INTERNAL crash.
    deserializer = tolerant_deserializer(handler.request_deserializer)
    serializer = handler.response_serializer
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary(handler.unary_unary, method),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            _wrap_unary(handler.stream_unary, method, streaming_requests=True),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _wrap_stream(handler.unary_stream, method),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream(handler.stream_stream, method, True, scan_text),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    return handler


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):
    """Turns EmergenceError into its status code with the message; anything else becomes INTERNAL.

    Every request is refused if undecodable; its text is scanned for NUL bytes unless its
    method is one of `self_checked_methods` (streams whose servicer checks every field itself).
    """

    def __init__(self, self_checked_methods: frozenset[str] = frozenset()) -> None:
        self._self_checked = self_checked_methods

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        return _rewrap(handler, method, scan_text=method not in self._self_checked)


def _reject(code: grpc.StatusCode, message: str) -> Handler:
    async def deny(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(deny)


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Requires `authorization: Bearer <token>` on every method of the protected services."""

    def __init__(
        self,
        token: str,
        protected_services: Sequence[str],
        *,
        protected_methods: Sequence[str] = (),
    ) -> None:
        self._token = token
        # Whole services by prefix, single methods ("/emergence.v1.Experiments/StartRun") exactly.
        self._prefixes = tuple(f"/{name}/" for name in protected_services)
        self._methods = frozenset(protected_methods)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = handler_call_details.method
        if not method.startswith(self._prefixes) and method not in self._methods:
            return await continuation(handler_call_details)
        metadata = dict(handler_call_details.invocation_metadata or ())
        supplied = str(metadata.get("authorization", ""))
        if not self._token:
            return _reject(
                grpc.StatusCode.FAILED_PRECONDITION,
                "operator API is disabled: set OPERATOR_API_TOKEN on the engine to enable it",
            )
        if not supplied.startswith("Bearer "):
            return _reject(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing operator token: send the header 'authorization: Bearer <OPERATOR_API_TOKEN>'",
            )
        if not hmac.compare_digest(supplied[len("Bearer ") :].encode(), self._token.encode()):
            return _reject(
                grpc.StatusCode.UNAUTHENTICATED,
                "wrong operator token: use the value of OPERATOR_API_TOKEN the engine was started with",
            )
        return await continuation(handler_call_details)
