// @ts-check
// Live latency in the browser: opens the dashboard, lets it follow the run for a while, then prints
// what it measured (window.emergenceTickLatencies: browser receive time minus each tick summary's
// commit timestamp, for summaries that arrived live) as one JSON line.
// Usage: node e2e/latency.mjs GATEWAY_URL SECONDS
import { launchBrowser } from "./browser.mjs";

const [gateway, secondsText] = process.argv.slice(2);
const seconds = Number(secondsText || "20");
if (!gateway || !(seconds > 0)) {
  console.error("usage: latency.mjs GATEWAY_URL SECONDS");
  process.exit(2);
}
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(gateway);
  await page.waitForTimeout(seconds * 1000);
  const samples = await page.evaluate(() => window.emergenceTickLatencies ?? []);
  console.log(JSON.stringify({ samples }));
} finally {
  await browser.close();
}
