// One asynchronous read of a panel: its value, its error in words and whether it is in flight.
import { type DependencyList, useEffect, useState } from "react";
import { describeError } from "../api/clients.js";

export interface Loaded<T> {
  value: T | null;
  error: string;
  loading: boolean;
}

/**
 * Calls `load` whenever `dependencies` change (no call while `load` is null) and keeps the last
 * value until the next one arrives; a reply to a superseded call is dropped.
 */
export function useLoad<T>(gatewayUrl: string, load: (() => Promise<T>) | null, dependencies: DependencyList): Loaded<T> {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    if (!load) return;
    let active = true;
    setLoading(true);
    load()
      .then((loaded) => {
        if (!active) return;
        setValue(loaded);
        setError("");
      })
      .catch((failure: unknown) => {
        if (active) setError(describeError(failure, gatewayUrl));
      })
      .finally(() => {
        if (active) setLoading(false);
      });
    return () => {
      active = false;
    };
    // `load` is a new closure each render; the caller's dependencies decide when to read again.
  }, dependencies);
  return { value, error, loading };
}
