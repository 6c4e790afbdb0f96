// @ts-check
// End-to-end check of the dashboard in a real browser against a real mesh behind Envoy.
// Usage: node e2e/dashboard.e2e.mjs GATEWAY_URL SCREENSHOT_DIR OPERATOR_TOKEN
// Prints one JSON line per check ({"check", "ok", "detail"}) and exits 1 if any failed.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser } from "./browser.mjs";

const [gateway, screenshots, token] = process.argv.slice(2);
if (!gateway || !screenshots || !token) {
  console.error("usage: dashboard.e2e.mjs GATEWAY_URL SCREENSHOT_DIR OPERATOR_TOKEN");
  process.exit(2);
}
mkdirSync(screenshots, { recursive: true });
const PANELS = ["map", "timeline", "agent", "economy", "discoveries", "social", "population", "conflicts", "eras", "constructs", "operator", "alerts"];
const results = [];
let failed = false;

/** A check fails by throwing; its message is the detail printed. */
function fail(message) {
  throw new Error(message);
}

/** Runs one check; a thrown error or a false result fails it, and the next checks still run. */
async function check(name, body) {
  let ok = false;
  let detail = "";
  try {
    const outcome = await body();
    ok = outcome !== false;
    detail = typeof outcome === "string" ? outcome : "";
  } catch (error) {
    detail = error instanceof Error ? error.message.split("\n")[0].slice(0, 400) : String(error);
  }
  failed ||= !ok;
  const line = { check: name, ok, detail };
  results.push(line);
  console.log(JSON.stringify(line));
  return ok;
}

/** Polls `probe` until it returns a truthy value or the time is up; returns the last value. */
async function until(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
page.setDefaultTimeout(8000);
const pageErrors = [];
page.on("pageerror", (error) => pageErrors.push(error.message));

const liveTick = async () => Number((await page.getByTestId("live-tick").innerText()).replace(/\D/g, "") || "0");
const runStatus = async () => (await page.getByTestId("run-status").innerText()).trim();
const agentPlaces = async () =>
  new Map(await page.locator("#panel-map circle[data-agent-id]").evaluateAll((dots) => dots.map((dot) => [dot.getAttribute("data-agent-id") ?? "", dot.getAttribute("data-place") ?? ""])));
/** Each living agent's place on the map as `id@place` (a traveller `id@from>to`), sorted. */
const mapPlaces = async () => [...(await agentPlaces())].map(([id, place]) => `${id}@${place}`).sort().join(";");
/** The same, as the Observer's REST API says the world was at `tick` (what the map must draw). */
async function storedPlaces(runId, tick) {
  const response = await fetch(`${gateway}/api/v1/runs/${encodeURIComponent(runId)}/agents?tick=${tick}&pageSize=10000`);
  if (!response.ok) fail(`ListAgents at tick ${tick}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
  const { agents = [] } = await response.json();
  return agents
    .map((agent) => {
      const travelling = Number(agent.travelTicksRemaining ?? 0) > 0 && agent.destinationId && agent.routeId;
      return `${agent.id}@${travelling ? `${agent.locationId}>${agent.destinationId}` : agent.locationId}`;
    })
    .sort()
    .join(";");
}
const outcomeSequence = async () => ((await page.getByTestId("operator-outcome").count()) ? Number(await page.getByTestId("operator-outcome").getAttribute("data-sequence")) : 0);
/** Clicks an operator button and returns the answer shown for that very click. */
async function operate(button) {
  const before = await outcomeSequence();
  await page.locator("#panel-operator").getByRole("button", { name: button, exact: true }).click();
  await until(async () => (await outcomeSequence()) > before, 10000, `the answer to ${button}`);
  const outcome = page.getByTestId("operator-outcome");
  return { text: (await outcome.innerText()).trim(), role: await outcome.getAttribute("role") };
}

try {
  await check("dashboard loads from the gateway", async () => {
    const response = await page.goto(gateway);
    if (!response || response.status() !== 200) fail(`GET / answered ${response?.status()}`);
    await until(async () => (await runStatus()) === "Running", 20000, "a running run");
    return `title ${await page.title()}`;
  });

  await check("live ticks advance without reload", async () => {
    const first = await until(liveTick, 10000, "a first tick");
    const later = await until(async () => ((await liveTick()) >= first + 3 ? liveTick() : 0), 10000, "three more ticks");
    return `tick ${first} → ${later}`;
  });

  await check("the map shows agents moving", async () => {
    await until(async () => (await page.locator("#panel-map circle[data-agent-id]").count()) > 0, 15000, "agent dots");
    const before = await agentPlaces();
    const moved = await until(async () => {
      const now = await agentPlaces();
      return [...now].find(([id, place]) => before.has(id) && before.get(id) !== place);
    }, 30000, "an agent to change place");
    return `${before.size} dots; ${moved[0].slice(-4)} went from ${before.get(moved[0])} to ${moved[1]}`;
  });

  await check("the timeline filters by type", async () => {
    const timeline = page.locator("#panel-timeline");
    await timeline.getByLabel("event type").selectOption({ label: "Resource gathered" });
    const types = await until(async () => {
      const found = await timeline.locator("li[data-event-type]").evaluateAll((items) => items.map((item) => item.getAttribute("data-event-type")));
      return found.length > 0 ? found : null;
    }, 15000, "filtered events");
    if (!types.every((type) => type === "RESOURCE_GATHERED")) return false;
    return `${types.length} events, all RESOURCE_GATHERED`;
  });

  await check("the timeline filters by region", async () => {
    const timeline = page.locator("#panel-timeline");
    const regions = (await timeline.getByLabel("region").locator("option").allTextContents()).filter((text) => text !== "all regions");
    if (regions.length === 0) throw new Error("no regions offered (the world did not load)");
    let detail = "";
    for (const region of regions) {
      await timeline.getByLabel("region").selectOption(region);
      await page.waitForTimeout(1200);
      const found = await timeline.locator("li[data-event-type]").evaluateAll((items) => items.map((item) => [item.getAttribute("data-event-type"), item.getAttribute("data-region")]));
      if (found.some(([type, where]) => type !== "RESOURCE_GATHERED" || where !== region)) fail(`region ${region}: ${JSON.stringify(found.slice(0, 5))}`);
      detail += `${region}: ${found.length} `;
      if (found.length > 0) break;
    }
    await timeline.getByLabel("region").selectOption("");
    await timeline.getByLabel("event type").selectOption("0");
    return detail.trim();
  });

  await check("an agent opens in the inspector with its decisions", async () => {
    await page.locator("#panel-map circle[data-agent-id]").first().click({ force: true });
    const decisions = await until(async () => page.locator("#panel-agent ol.decisions li").count(), 15000, "decisions of the agent");
    const title = await page.locator("#panel-agent h2").innerText();
    return `${title}: ${decisions} decisions`;
  });

  await check("pause without the token fails visibly", async () => {
    await page.getByLabel("operator token").fill("");
    const { text: outcome, role } = await operate("Pause");
    if (role !== "alert" || !/failed/i.test(outcome)) fail(`outcome ${outcome} (role ${role})`);
    await page.waitForTimeout(800);
    if ((await runStatus()) !== "Running") fail(`status ${await runStatus()} after a refused pause`);
    return outcome;
  });

  await check("pause with the token stops the ticks; resume starts them again", async () => {
    await page.getByLabel("operator token").fill(token);
    const paused = await operate("Pause");
    if (paused.role !== "status") fail(`pause: ${paused.text}`);
    await until(async () => (await runStatus()) === "Paused", 10000, "status Paused");
    await page.waitForTimeout(1000);
    const heldAt = await liveTick();
    await page.waitForTimeout(1500);
    const stillPaused = await liveTick();
    if (stillPaused !== heldAt) fail(`ticks advanced while paused: ${heldAt} → ${stillPaused}`);
    await page.screenshot({ path: join(screenshots, "paused.png") });
    const resumed = await operate("Resume");
    if (resumed.role !== "status") fail(`resume: ${resumed.text}`);
    await until(async () => (await runStatus()) === "Running", 10000, "status Running");
    await until(async () => (await liveTick()) > stillPaused, 10000, "ticks after resume");
    return `held at tick ${heldAt}, resumed`;
  });

  await check("an injected plague shows in the timeline and in the alerts", async () => {
    const operator = page.locator("#panel-operator");
    await operator.getByLabel("world event").selectOption("plague");
    const regions = (await operator.getByLabel("event region").locator("option").allTextContents()).filter((text) => !text.endsWith("…"));
    if (regions.length === 0) throw new Error("no region to choose (the world did not load)");
    await operator.getByLabel("event region").selectOption(regions[0]);
    const { text: outcome } = await operate("Inject");
    if (!/takes effect/.test(outcome)) fail(`inject: ${outcome}`);
    const timeline = page.locator("#panel-timeline");
    await timeline.getByLabel("event type").selectOption({ label: "World event" });
    await until(async () => (await timeline.locator("li", { hasText: "plague" }).count()) > 0, 15000, "the plague in the timeline");
    await until(async () => (await page.locator("#panel-alerts li", { hasText: "plague" }).count()) > 0, 15000, "the plague in the alerts");
    await timeline.getByLabel("event type").selectOption("0");
    return `plague in ${regions[0]}: ${outcome}`;
  });

  await check("every panel has a screenshot", async () => {
    await page.waitForTimeout(1500);
    // The sticky header would cover the top of a panel scrolled into view for its picture.
    const unstick = await page.addStyleTag({ content: ".top { position: static !important; }" });
    for (const panel of PANELS) await page.locator(`#panel-${panel}`).screenshot({ path: join(screenshots, `${panel}.png`) });
    await unstick.evaluate((element) => element.remove());
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(screenshots, "dashboard-1366x768.png") });
    return `${PANELS.length} panels`;
  });

  await check("time travel to an earlier tick changes the map", async () => {
    // Most agents stay put for long stretches, so an arbitrary earlier tick may look like now:
    // the Observer says which earlier tick had agents elsewhere, and the map must show exactly that.
    const runId = await page.getByLabel("run", { exact: true }).inputValue();
    const now = await liveTick();
    const placesNow = await storedPlaces(runId, now);
    const candidates = [...new Set([Math.floor(now / 2), Math.floor(now / 4), 1, 0].filter((tick) => tick < now))];
    let target = -1;
    for (const tick of candidates) {
      if ((await storedPlaces(runId, tick)) !== placesNow) {
        target = tick;
        break;
      }
    }
    if (target < 0) fail(`no agent was elsewhere at ticks ${candidates.join(", ")} than at ${now}`);
    await page.getByLabel("time travel").fill(String(target));
    await until(async () => (await page.getByTestId("view-tick").innerText()) === `at tick ${target}`, 10000, "the view tick");
    await until(async () => (await page.locator("#panel-map svg.map").getAttribute("data-shown-tick")) === String(target), 20000, "the map at the chosen tick");
    const shown = await until(async () => {
      const places = await mapPlaces();
      return places === (await storedPlaces(runId, target)) ? places : "";
    }, 10000, `the map to show the agents where they were at tick ${target}`);
    await page.locator("#panel-map").screenshot({ path: join(screenshots, "map-time-travel.png") });
    if (shown === placesNow) fail("the map did not change");
    await page.getByRole("button", { name: "Live" }).click();
    return `map at tick ${target} (live was ${now})`;
  });

  await check("a finished run from the store opens from the run picker", async () => {
    const picker = page.getByLabel("run", { exact: true });
    const options = await picker.locator("option").allTextContents();
    const finished = options.find((text) => text.includes("· completed ·"));
    if (!finished) fail(`no completed run offered: ${JSON.stringify(options)}`);
    await picker.selectOption({ label: finished });
    await until(async () => (await runStatus()) === "Completed", 15000, "status Completed");
    await until(async () => (await page.locator("#panel-map circle[data-agent-id]").count()) > 0, 20000, "the finished run's map");
    await until(async () => (await page.locator("#panel-population svg path").count()) > 0, 15000, "its population chart");
    await page.screenshot({ path: join(screenshots, "finished-run.png") });
    return finished;
  });

  await check("an unknown run says so", async () => {
    const other = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await other.goto(`${gateway}/?run=no-such-run`);
    const banner = await until(async () => ((await other.getByTestId("banner").count()) ? other.getByTestId("banner").innerText() : ""), 15000, "the error banner");
    await other.close();
    return /not found/i.test(banner) ? banner : false;
  });

  await check("a gateway that does not answer says so", async () => {
    const other = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await other.goto(`${gateway}/?gateway=${encodeURIComponent("http://127.0.0.1:9")}`);
    const banner = await until(async () => ((await other.getByTestId("banner").count()) ? other.getByTestId("banner").innerText() : ""), 15000, "the error banner");
    await other.screenshot({ path: join(screenshots, "gateway-down.png") });
    await other.close();
    return /does not answer/.test(banner) ? banner : false;
  });

  await check("no script errors in the page", async () => {
    if (pageErrors.length > 0) fail(pageErrors.slice(0, 3).join(" | "));
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
