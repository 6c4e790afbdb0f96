// grpc-web clients of the gateway's public services, and errors turned into sentences a person can act on.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Experiments } from "../gen/emergence/v1/experiments_service_pb.js";
import { Observer } from "../gen/emergence/v1/observer_service_pb.js";
import { Operator } from "../gen/emergence/v1/operator_service_pb.js";

export interface Clients {
  gatewayUrl: string;
  observer: Client<typeof Observer>;
  operator: Client<typeof Operator>;
  experiments: Client<typeof Experiments>;
}

/** The gateway that served this page, or the one named by `?gateway=` (a dashboard served elsewhere). */
export function gatewayUrl(location: Pick<Location, "origin" | "search">): string {
  const named = new URLSearchParams(location.search).get("gateway");
  if (named && /^https?:\/\/[^\s]+$/.test(named)) return named.replace(/\/+$/, "");
  return location.origin;
}

export function createClients(baseUrl: string): Clients {
  const transport = createGrpcWebTransport({ baseUrl, useBinaryFormat: true });
  return {
    gatewayUrl: baseUrl,
    observer: createClient(Observer, transport),
    operator: createClient(Operator, transport),
    experiments: createClient(Experiments, transport),
  };
}

/** What went wrong, for a banner: the status, the server's own words (short), and what to do. */
export function describeError(error: unknown, gateway: string): string {
  const failure = ConnectError.from(error);
  const message = failure.rawMessage.slice(0, 300);
  switch (failure.code) {
    case Code.Unavailable:
      return `The gateway at ${gateway} cannot reach the service (${message}). Is the mesh running?`;
    case Code.Unknown:
      if (/fetch|network|load failed/i.test(message)) {
        return `The gateway at ${gateway} does not answer (${message}). Start it with 'emergence up'.`;
      }
      return `Unknown error: ${message}`;
    case Code.Unimplemented:
      return `Not served by this gateway yet: ${message}`;
    case Code.NotFound:
      return `Not found: ${message}`;
    case Code.Unauthenticated:
      return `Refused: ${message}`;
    case Code.Canceled:
      return "Cancelled";
    default:
      return `${Code[failure.code] ?? failure.code}: ${message}`;
  }
}

export function isCancel(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Canceled;
}

export function isUnimplemented(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Unimplemented;
}

/** Request options that carry the operator token (`authorization: Bearer …`) when one is given. */
export function withToken(token: string): { headers: Record<string, string> } {
  const trimmed = token.trim();
  return { headers: trimmed ? { authorization: `Bearer ${trimmed}` } : {} };
}
