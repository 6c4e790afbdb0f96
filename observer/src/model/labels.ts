// Human labels for the contract's enums and ids: "EVENT_TYPE_TRADE_COMPLETED" → "Trade completed".

/** The label of one value of a generated protobuf enum (its reverse mapping), sentence-cased. */
export function enumLabel(enumObject: Record<number, string>, value: number): string {
  const name = enumObject[value];
  if (name === undefined) return `unknown (${value})`;
  const words = name.toLowerCase().split("_").join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A short, stable form of a long id for tables (the full id stays in the title attribute). */
export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 4)}…${id.slice(-4)}` : id;
}

/** bigint ticks and quantities from the wire as plain numbers for charts (safe below 2^53). */
export function toNumber(value: bigint | number): number {
  return typeof value === "bigint" ? Number(value) : value;
}
