// The HTML report's legend in headless Chromium (Debian's chromium, driven by playwright-core from
// npm; scripts/fetch-test-tools.sh installs it in .cache/browser). Run by tests/report_e2e_test.cc:
//
//   node tests/browser/report_legend.mjs REPORT_HTML SCREENSHOT_PNG
//
// Checks, as laid out by the browser, that every legend swatch sits beside its label: on the same
// line (the swatch's middle within the label's line box) and just before it (left of the label,
// less than a swatch's width of space between). Prints one JSON report; exits 0 only when all pass.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = process.env.SP_SOURCE_DIR || path.resolve(here, '../..');
const require = createRequire(path.join(source, '.cache/browser/node_modules/'));
const { chromium } = require('playwright-core');

const [htmlPath, screenshot] = process.argv.slice(2);
if (!htmlPath || !screenshot) {
  console.error('usage: report_legend.mjs REPORT_HTML SCREENSHOT_PNG');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.SP_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let ok = false;
const report = { items: [] };
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  await page.goto(pathToFileURL(path.resolve(htmlPath)).href);
  // Each legend entry: the swatch's box and its label text's box (a Range over the text nodes).
  report.items = await page.evaluate(() =>
    [...document.querySelectorAll('.legend > span')].map((span) => {
      const swatch = span.querySelector('svg').getBoundingClientRect();
      const range = document.createRange();
      const text = [...span.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
      range.selectNodeContents(text);
      const label = range.getBoundingClientRect();
      return {
        label: text.textContent.trim(),
        swatch: { left: swatch.left, right: swatch.right, top: swatch.top, bottom: swatch.bottom },
        text: { left: label.left, right: label.right, top: label.top, bottom: label.bottom },
      };
    }),
  );
  for (const item of report.items) {
    const middle = (item.swatch.top + item.swatch.bottom) / 2;
    const width = item.swatch.right - item.swatch.left;
    item.same_line = middle >= item.text.top && middle <= item.text.bottom;
    item.just_before = item.swatch.right <= item.text.left + 0.5 && item.text.left - item.swatch.right < width;
  }
  ok = report.items.length === 3 && report.items.every((i) => i.same_line && i.just_before);
  const legend = await page.$('.legend');
  await legend.scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshot, clip: await legend.boundingBox() });
} catch (e) {
  report.error = String(e && e.stack ? e.stack : e);
} finally {
  await browser.close();
}
report.ok = ok;
console.log(JSON.stringify(report, null, 2));
process.exit(ok ? 0 : 1);
