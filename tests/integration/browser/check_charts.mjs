// Opens an HTML page in headless Chromium (playwright-core as the driver), prints one JSON line
// describing every <svg class="chart"> (its size and how many shapes it drew) and saves a
// full-page screenshot.  Usage: node check_charts.mjs PAGE_URL SCREENSHOT_PNG
// PLAYWRIGHT_CORE names the playwright-core package folder; CHROMIUM the browser binary.
import { createRequire } from "node:module";

const [pageUrl, screenshot] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE ?? "playwright-core");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const requests = [];
  page.on("request", (request) => {
    if (!request.url().startsWith("file:")) requests.push(request.url());
  });
  await page.goto(pageUrl, { waitUntil: "load" });
  const charts = await page.$$eval("svg.chart", (nodes) =>
    nodes.map((node) => {
      const box = node.getBoundingClientRect();
      const shapes = node.querySelectorAll("line,polyline,rect,circle,path");
      let drawn = 0;
      for (const shape of shapes) {
        const size = shape.getBBox();
        if (size.width > 0 || size.height > 0) drawn += 1;
      }
      return { name: node.dataset.chart, width: box.width, height: box.height, drawn };
    }),
  );
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ title: await page.title(), charts, requests }));
} finally {
  await browser.close();
}
