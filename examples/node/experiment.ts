// Drives one experiment from Node through the generated protoc-gen-es types (observer/src/gen)
// over @connectrpc/connect-node's gRPC transport: create a run, step it, fork it with a plague,
// step the fork, list both, compare them. Prints one JSON line per step and a final table.
//
//   npm run build && node dist/experiment.mjs --address 127.0.0.1:50055 --token "$OPERATOR_API_TOKEN"
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Experiments } from "../../observer/src/gen/emergence/v1/experiments_service_pb.js";
import {
  EndConditionsSchema,
  PlagueSchema,
  RunConfigSchema,
  RunStatus,
  WorldEventSpecSchema,
} from "../../observer/src/gen/emergence/v1/run_pb.js";

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const address = option("address", "127.0.0.1:50055");
const token = option("token", process.env.OPERATOR_API_TOKEN ?? "");
const ticks = Number(option("ticks", "60"));
const forkAt = Number(option("fork-at", "30"));
const seed = BigInt(option("seed", "5"));

const bearer: Interceptor = (next) => async (request) => {
  if (token) request.header.set("authorization", `Bearer ${token}`);
  return next(request);
};
const transport = createGrpcTransport({ baseUrl: `http://${address}`, interceptors: [bearer] });
const experiments = createClient(Experiments, transport);

function say(step: string, facts: Record<string, unknown>): void {
  console.log(JSON.stringify({ step, ...facts }, (_, value) => (typeof value === "bigint" ? Number(value) : value)));
}

// A refused call ends the example with its status on one line (exit 1), not a stack trace.
process.on("uncaughtException", (error) => {
  const refused = ConnectError.from(error);
  say("error", { code: Code[refused.code], message: refused.rawMessage.slice(0, 300) });
  process.exit(1);
});

const config = create(RunConfigSchema, {
  name: "node-example",
  seed,
  agents: 6,
  end: create(EndConditionsSchema, { maxTicks: BigInt(ticks) }),
});
const { run } = await experiments.createRun({ config });
if (!run) throw new Error("CreateRun answered without a run");
say("created", { runId: run.id, status: RunStatus[run.status], seed: run.config?.seed });

const stepped = await experiments.stepRun({ runId: run.id, ticks });
const last = stepped.summaries.at(-1);
say("stepped", { tick: stepped.run?.currentTick, summaries: stepped.summaries.length, alive: last?.alive });

const plague = create(WorldEventSpecSchema, {
  kind: { case: "plague", value: create(PlagueSchema, { region: "Central Valley", ticks: 20 }) },
});
const forked = await experiments.forkRun({ runId: run.id, atTick: BigInt(forkAt), inject: [plague] });
const fork = forked.run;
if (!fork) throw new Error("ForkRun answered without a run");
say("forked", { runId: fork.id, parent: fork.parentRunId, forkedAt: fork.forkedAtTick });

const forkStepped = await experiments.stepRun({ runId: fork.id, ticks: ticks - forkAt });
say("fork stepped", { tick: forkStepped.run?.currentTick });

const listed = await experiments.getRun({ runId: fork.id });
say("queried", { runId: listed.run?.id, status: RunStatus[listed.run?.status ?? 0], tick: listed.run?.currentTick });

const compared = await experiments.compareRuns({ runIds: [run.id, fork.id], metrics: ["population_end", "deaths"] });
for (const row of compared.runs) say("compared", { runId: row.runId, metrics: row.metrics });

try {
  await experiments.getRun({ runId: "no-such-run" });
  say("unknown run", { code: "OK" });
} catch (error) {
  say("unknown run", { code: Code[ConnectError.from(error).code] });
}
