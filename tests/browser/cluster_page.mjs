// A live page on one cluster node sees a change made through another.
// Started by tests/integration/cluster_test.sh: a user signs in through the
// proxy (WATCHER_LINK, alice's), opens PAGE (a PR page one node serves),
// prints "ready", and once the page shows the PR approved (lee approves it
// through another node), prints "seen <epoch ms>". Exits non-zero if it
// never does.
import { chromium } from 'playwright-core';

const { PAGE, WATCHER_LINK, SPKI, ARTIFACTS } = process.env;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
         '--disable-background-networking', '--disable-component-update', `--ignore-certificate-errors-spki-list=${SPKI}`],
});
let code = 0;
const page = await (await browser.newContext()).newPage();
try {
  await page.goto(WATCHER_LINK);
  await page.waitForSelector('#who:has-text("alice (dev)")', { timeout: 10000 });
  await page.goto(PAGE);
  await page.waitForSelector('h1', { timeout: 10000 });
  console.log('ready');
  await page.waitForSelector('.badge.ok:has-text("approved")', { timeout: 30000 });
  console.log(`seen ${Date.now()}`);
  await page.screenshot({ path: `${ARTIFACTS}/cluster-pr-approved.png`, fullPage: true });
} catch (e) {
  console.log(`FAIL ${e.message.split('\n')[0]}`);
  await page.screenshot({ path: `${ARTIFACTS}/cluster-pr-failed.png`, fullPage: true }).catch(() => {});
  code = 1;
}
await browser.close();
process.exit(code);
