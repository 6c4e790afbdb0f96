"""The one error tree of the mesh: every failure a person can act on, mapped to a gRPC status."""

from __future__ import annotations

import grpc


class EmergenceError(Exception):
    """Base of all errors the mesh reports; `message` says what was wrong, `hint` what to do."""

    status_code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidArgument(EmergenceError):
    status_code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(EmergenceError):
    status_code = grpc.StatusCode.NOT_FOUND


class OutOfRange(EmergenceError):
    """A position past the end of what exists, e.g. a tick the run has not reached yet."""

    status_code = grpc.StatusCode.OUT_OF_RANGE


class AlreadyExists(EmergenceError):
    status_code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(EmergenceError):
    status_code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(EmergenceError):
    status_code = grpc.StatusCode.ABORTED


class Unauthenticated(EmergenceError):
    status_code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(EmergenceError):
    status_code = grpc.StatusCode.PERMISSION_DENIED


class Unavailable(EmergenceError):
    status_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(EmergenceError):
    status_code = grpc.StatusCode.DEADLINE_EXCEEDED


class ConfigurationError(EmergenceError):
    """Bad configuration: names the key (or address) and the problem. The CLI exits with code 2."""

    status_code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, key: str, problem: str, *, hint: str = "") -> None:
        super().__init__(f"{key}: {problem}", hint=hint)
        self.key = key
        self.problem = problem


def from_rpc_error(error: grpc.RpcError, *, address: str = "", call: str = "") -> EmergenceError:
    """Translate a grpc error at the edge into our tree, keeping the server's message."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    where = f"{call} at {address}" if address else call
    message = f"{where}: {details}" if where else str(details)
    by_code: dict[grpc.StatusCode, type[EmergenceError]] = {
        grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
        grpc.StatusCode.NOT_FOUND: NotFound,
        grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
        grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
        grpc.StatusCode.ABORTED: Aborted,
        grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
        grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
        grpc.StatusCode.UNAVAILABLE: Unavailable,
        grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    }
    error_type = by_code.get(code, EmergenceError)
    hint = "is the service running at that address?" if code == grpc.StatusCode.UNAVAILABLE else ""
    return error_type(message, hint=hint)
