// Inequality of agents' wealth: the Gini coefficient and the Lorenz curve, as pure functions.
import type { Agent } from "../gen/emergence/v1/agent_pb.js";
import { toNumber } from "./labels.js";

export interface LorenzPoint {
  /** share of the population, poorest first, 0..1 */
  population: number;
  /** share of all wealth that population holds, 0..1 */
  wealth: number;
}

/** Negative or non-finite holdings count as nothing; wealth cannot be below zero. */
function cleaned(values: readonly number[]): number[] {
  return values.map((value) => (Number.isFinite(value) && value > 0 ? value : 0)).sort((a, b) => a - b);
}

/** Gini of the values: 0 when all hold the same (or nothing, or nobody), towards 1 when one holds all. */
export function gini(values: readonly number[]): number {
  const sorted = cleaned(values);
  const count = sorted.length;
  const total = sorted.reduce((sum, value) => sum + value, 0);
  if (count === 0 || total === 0) return 0;
  let weighted = 0;
  sorted.forEach((value, index) => {
    weighted += (index + 1) * value;
  });
  return (2 * weighted) / (count * total) - (count + 1) / count;
}

/** Lorenz curve from (0, 0) to (1, 1), one point per holder; the diagonal for no wealth at all. */
export function lorenz(values: readonly number[]): LorenzPoint[] {
  const sorted = cleaned(values);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  const points: LorenzPoint[] = [{ population: 0, wealth: 0 }];
  if (sorted.length === 0) return [...points, { population: 1, wealth: 1 }];
  let running = 0;
  sorted.forEach((value, index) => {
    running += value;
    const population = (index + 1) / sorted.length;
    points.push({ population, wealth: total === 0 ? population : running / total });
  });
  return points;
}

/** An agent's wealth: every unit it carries, whatever the resource. */
export function wealthOf(agent: Agent): number {
  return agent.inventory.reduce((sum, amount) => sum + Math.max(0, toNumber(amount.quantity)), 0);
}
