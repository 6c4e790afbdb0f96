"""The researcher SDK: betterproto2 dataclasses and async (grpclib) stubs for the public API.

The generated code lives in `emergence.client.pb` (its own `google/` package, so it never
shadows protobuf's); `emergence.client.v1` is its `emergence.v1` package. Install with the
`client` extra: `pip install 'emergence[client]'`.
"""

from __future__ import annotations

from emergence.client.pb.emergence import v1

__all__ = ["v1"]
