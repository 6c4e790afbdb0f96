"""Turns protoc-gen-swagger's merged output into gateway/openapi.json: a title, stable key order.

Usage: python scripts/finish_openapi.py MERGED_SWAGGER_JSON OUTPUT_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(source: str, target: str) -> None:
    document = json.loads(Path(source).read_text())
    document["info"] = {
        "title": "Emergence API",
        "version": "v1",
        "description": (
            "REST/JSON beside grpc-web, through the Envoy gateway's transcoder. Generated from "
            "proto/emergence/v1 by `make proto`; server streams answer newline-delimited JSON."
        ),
    }
    Path(target).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
