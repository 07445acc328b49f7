// Browser half of scripts/bench-web, in Debian's headless Chromium.
//   latency BUILD_ID OUT.json: opens the build page and records, for every
//     "LAT <epoch ms>" line, when it first shows in the page's log; writes
//     the delays (ms).
//   render BUILD_ID RUNS: opens a finished build's page RUNS times and
//     prints, per run, the ms from navigation start until the whole log
//     (100,000+ lines) is in and its last line is on screen.
// Env: WEB (https://host:port), LINK (a one-time sign-in link), SPKI.
import { writeFileSync } from 'node:fs';
import { chromium } from '../tests/browser/node_modules/playwright-core/index.mjs';

const [mode, build, arg] = process.argv.slice(2);
const { WEB, LINK, SPKI } = process.env;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
         '--disable-background-networking', '--disable-component-update', `--ignore-certificate-errors-spki-list=${SPKI}`],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
await page.goto(LINK);
await page.waitForSelector('#who:not(:empty)');

if (mode === 'latency') {
  await page.goto(`${WEB}/builds/${build}`);
  await page.waitForSelector('.log');
  // Every render replaces the visible rows; the observer notes each LAT line
  // the first time it is in the DOM.
  await page.evaluate(() => {
    window.__seen = {};
    const log = document.querySelector('.log');
    new MutationObserver(() => {
      const now = Date.now();
      for (const row of log.querySelectorAll('.line')) {
        const m = /LAT (\d+)/.exec(row.textContent);
        if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = now - Number(m[1]);
      }
    }).observe(log, { childList: true, subtree: true });
  });
  await page.waitForFunction(() => document.body.dataset.logEnded === '1', null, { timeout: 300000 });
  const delays = await page.evaluate(() => Object.values(window.__seen));
  writeFileSync(arg, JSON.stringify(delays));
} else if (mode === 'render') {
  for (let i = 0; i < Number(arg); i++) {
    await page.goto(`${WEB}/builds/${build}`);
    const ms = await page.evaluate(() => new Promise((resolve) => {
      const done = () => {
        if (document.body.dataset.logEnded !== '1') return false;
        // The whole log is in and its last line is on screen.
        const rows = document.querySelectorAll('.log .line');
        const last = rows[rows.length - 1];
        const total = Number(document.querySelector('.log-tools span').textContent.replace(/\D/g, ''));
        return last && total >= 100000 && Number(last.querySelector('.n').textContent) === total;
      };
      const tick = () => (done() ? resolve(performance.now()) : requestAnimationFrame(tick));
      tick();
    }));
    console.log(ms.toFixed(0));
  }
}
await browser.close();
