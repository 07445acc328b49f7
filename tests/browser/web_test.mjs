// The web UI in Debian's headless Chromium, as lee (lead) and bob (dev).
// Started by tests/integration/web_test.sh, which sets up the farm, a running
// build (BUILD), a PR (PR) and one-time sign-in links (LEE_LINK, BOB_LINK).
// Prints one "ok"/"FAIL" line per check; exits non-zero on any failure.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const { WEB, BUILD, PR, LEE_LINK, BOB_LINK, ALICE_LINK, SPKI, ARTIFACTS, FARM, CIFS } = process.env;
let failures = 0;
function check(what, ok, detail) {
  console.log((ok ? 'ok   - ' : 'FAIL - ') + what + (ok || detail === undefined ? '' : '\n       | ' + detail));
  if (!ok) failures++;
}
async function attempt(what, page, fn) {
  try {
    await fn();
  } catch (e) {
    check(what, false, e.message.split('\n')[0]);
    await page.screenshot({ path: `${ARTIFACTS}/failed-${what.replace(/\W+/g, '-')}.png`, fullPage: true }).catch(() => {});
  }
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  // Playwright adds the headless flags itself. The farm's certificate is from
  // its own CA: trust exactly its key.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
         '--disable-background-networking', '--disable-component-update', `--ignore-certificate-errors-spki-list=${SPKI}`],
});
const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });

// --- lee ------------------------------------------------------------------------
const lee = await (await browser.newContext()).newPage();
const errors = [];
lee.on('pageerror', (e) => errors.push(e.message));
await attempt('lee signs in with the link', lee, async () => {
  await lee.goto(LEE_LINK);
  await lee.waitForSelector('#who:has-text("lee (lead)")', { timeout: 10000 });
  check('lee signs in with the link and lands on the dashboard', new URL(lee.url()).pathname === '/');
  await shot(lee, 'dashboard-lee');
});

await attempt('lee watches the build live', lee, async () => {
  await lee.goto(`${WEB}/builds/${BUILD}`);
  await lee.waitForSelector('.log .line', { timeout: 15000 });
  await lee.waitForFunction(() => /tick 2\b/.test(document.querySelector('.log').innerText), null, { timeout: 30000 });
  const early = await lee.evaluate(() => ({
    text: document.querySelector('.log').innerText,
    running: !!document.querySelector('.badge.run'),
  }));
  check('the build page shows the build running', early.running);
  check('... with its log so far (not the end yet)', /tick 2\b/.test(early.text) && !/tick 16\b/.test(early.text), early.text.slice(-200));
  await shot(lee, 'build-running');
  await lee.waitForFunction(() => /tick 12\b/.test(document.querySelector('.log').innerText), null, { timeout: 30000 });
  check('the log advances live without a reload', true);
  await lee.waitForFunction(() => {
    const p = document.querySelector('.progress');
    const state = document.querySelector('#build-state .badge');
    return p && state && state.textContent === 'SUCCESS' && p.dataset.done === p.dataset.configured && p.dataset.configured !== '0';
  }, null, { timeout: 60000 });
  check('the build\'s result arrives live: SUCCESS, without a reload', true);
  const bar = await lee.evaluate(() => { const p = document.querySelector('.progress'); return [p.dataset.done, p.dataset.configured, p.innerText]; });
  check('the progress bar fills as targets complete', bar[0] === bar[1], bar.join(' '));
  const coloured = await lee.evaluate(() => [...document.querySelectorAll('.log .a-f2')].some((s) => /tick/.test(s.textContent)));
  check('ANSI colours are rendered as colours', coloured);
  const shown = await lee.evaluate(() => document.querySelector('.log').innerText);
  check('build output with <script> and <img onerror> shows as text', shown.includes('<script>window.pwned = 1</script><img src=x onerror='));
  const pwned = await lee.evaluate(() => [window.pwned, document.querySelectorAll('script').length, document.querySelectorAll('.log img').length]);
  check('... and nothing in it ran or became an element', pwned[0] === undefined && pwned[1] === 1 && pwned[2] === 0, JSON.stringify(pwned));
  check('lee (a lead, not the owner) is offered no rerun of alice\'s build', (await lee.locator('#rerun').count()) === 0);
  const tests = await lee.evaluate(() => document.querySelector('#tests') && document.querySelector('#tests').innerText);
  check('the test results table lists the test', /ticker_test/.test(tests || '') && /PASSED/.test(tests || ''), tests);
  await shot(lee, 'build-finished');
});

// bob has the PR open while lee approves it: his page changes by itself.
const bobCtx = await browser.newContext();
const bob = await bobCtx.newPage();
await attempt('bob opens the PR', bob, async () => {
  await bob.goto(BOB_LINK);
  await bob.waitForSelector('#who:has-text("bob (dev)")', { timeout: 10000 });
  await bob.goto(`${WEB}/prs/${PR}`);
  await bob.waitForSelector('#review', { timeout: 10000 });
});

await attempt('lee reads the files changed and comments on a line', lee, async () => {
  await lee.goto(`${WEB}/prs/${PR}`);
  const file = lee.locator('details.file[data-path="lib/greet.h"]');
  await file.waitFor({ timeout: 20000 });
  const text = await file.innerText();
  check('the PR page lists lib/greet.h under Files changed, with its counts', /lib\/greet\.h[\s\S]*modified[\s\S]*\+1 −0/.test(text), text.slice(0, 200));
  const added = file.locator('tr.add', { hasText: '// reviewed in the browser' });
  check('... and the added line, as text', (await added.count()) === 1);
  await added.locator('td.pick').click();
  await lee.fill('input[aria-label="line comment"]', 'is this comment <i>needed</i>?');
  await lee.click('#line-comment');
  await lee.waitForSelector('tr.comment:has-text("needed")', { timeout: 15000 });
  const comment = await lee.locator('tr.comment').first().innerText();
  check('lee comments on the line and sees it under that line, as text (no markup)', comment.includes('<i>needed</i>'), comment);
  check('... and in the reviews, with its place', /commented[\s\S]*lib\/greet\.h:\d+/.test(await lee.textContent('main')));
  await shot(lee, 'pr-files-changed');
});

await attempt('alice pushes a revision; lee reads what changed since his review', lee, async () => {
  fs.appendFileSync(`${FARM}/workspaces/alice-pr/lib/greet.cc`, '// and once more\n');
  execFileSync(CIFS, ['pr', 'submit', '--workspace', 'alice-pr'],
    { env: { ...process.env, CIFS_CONFIG: `${FARM}/users/alice/config.toml` }, stdio: 'ignore' });
  // The open page hears of revision 2 by itself and offers the diff since.
  const since = lee.locator('#diff-since');
  await since.waitFor({ timeout: 20000 });
  check('lee\'s open page offers the changes since his last review', /since revision 1/.test(await since.textContent()));
  await since.click();
  await lee.waitForFunction(() => /revision 1 to revision 2/.test(document.querySelector('#diff-basis')?.textContent || ''), null, { timeout: 15000 });
  const paths = await lee.$$eval('details.file', (els) => els.map((e) => e.dataset.path));
  check('... which lists only the file changed since', JSON.stringify(paths) === '["lib/greet.cc"]', JSON.stringify(paths));
  await shot(lee, 'pr-since-review');
});

await attempt('lee approves the PR', lee, async () => {
  await lee.goto(`${WEB}/prs/${PR}`);
  await lee.waitForSelector('h1', { timeout: 10000 });
  const title = await lee.textContent('h1');
  check('the PR title shows as text (no markup)', title.includes('<b>greetings</b>'), title);
  check('lee sees the approve button', await lee.isVisible('#approve'));
  await shot(lee, 'pr-before-approval');
  await lee.click('#approve');
  await lee.waitForSelector('.badge.ok:has-text("approved")', { timeout: 15000 });
  const reviews = await lee.textContent('main');
  check('after approving, the PR is approved and the review lists lee', /lee\s*approved/.test(reviews), reviews.slice(0, 300));
  check('... and lee is not offered to approve the same revision again', (await lee.locator('#approve').count()) === 0);
  await shot(lee, 'pr-approved');
  await bob.waitForSelector('.badge.ok:has-text("approved")', { timeout: 10000 });
  check('bob\'s open PR page shows the approval without a reload (pushed)', /lee\s*approved/.test(await bob.textContent('main')));
});
await attempt('the PR page shows what the PR affects', lee, async () => {
  // Once its validation passed (the page follows it by itself).
  await lee.waitForSelector('#affects', { timeout: 180000 });
  const affects = await lee.textContent('#affects');
  check('the PR page names the Bazel targets the PR affects', /\d+ targets: .*\/\/lib:greet/.test(affects), affects);
});
check('no script errors on lee\'s pages', errors.length === 0, errors.join('; '));

const again = await (await browser.newContext()).newPage();
await attempt('a used link', again, async () => {
  await again.goto(LEE_LINK);
  await again.waitForSelector('h1:has-text("Sign in")', { timeout: 10000 });
  check('a used sign-in link signs no one in', /not valid/.test(await again.textContent('main')));
});

// --- alice reruns her build ---------------------------------------------------------
const alice = await (await browser.newContext()).newPage();
await attempt('alice reruns', alice, async () => {
  await alice.goto(ALICE_LINK);
  await alice.waitForSelector('#who:has-text("alice (dev)")', { timeout: 10000 });
  await alice.goto(`${WEB}/builds/${BUILD}`);
  await alice.waitForSelector('#rerun', { timeout: 15000 });
  await alice.click('#rerun');
  await alice.waitForURL((u) => u.pathname.startsWith('/builds/') && !u.pathname.endsWith(BUILD), { timeout: 15000 });
  await alice.waitForSelector('.badge.ok', { timeout: 120000 });
  const text = await alice.textContent('main');
  check('alice reruns her finished build from its page: a new build of the same target runs and passes',
        /bazel test \/\/app:ticker_test/.test(text), text.slice(0, 200));
  await shot(alice, 'build-rerun');
});

// --- bob -------------------------------------------------------------------------
await attempt('bob', bob, async () => {
  check('bob (dev) finds no approve button', (await bob.locator('#approve').count()) === 0);
  await shot(bob, 'pr-as-bob');
  const forced = await bob.evaluate(async (number) => {
    const s = await (await fetch('/api/v1/session')).json();
    const r = await fetch('/api/v1/PullRequests/Approve', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
      body: JSON.stringify({ number }),
    });
    return [r.status, await r.text()];
  }, Number(PR));
  check('forcing the approval from bob\'s page is refused (403, saying why)', forced[0] === 403 && /lead/.test(forced[1]), forced.join(' '));
  const noCsrf = await bob.evaluate(async () => (await fetch('/api/v1/Farm/WhoAmI', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status);
  check('a request without the CSRF token is refused', noCsrf === 403, String(noCsrf));
  const cookie = (await bobCtx.cookies()).find((c) => c.name === '__Host-cifs_session');
  check('the session cookie is HttpOnly, Secure, SameSite=Lax', cookie && cookie.httpOnly && cookie.secure && cookie.sameSite === 'Lax', JSON.stringify(cookie));
  check('page script cannot read it', !(await bob.evaluate(() => document.cookie)).includes('cifs_session'));
  await bob.click('#signout');
  await bob.waitForSelector('h1:has-text("Sign in")', { timeout: 10000 });
  const after = await bob.evaluate(async () => (await fetch('/api/v1/session')).status);
  check('signing out ends the session', after === 401, String(after));
});

await browser.close();
console.log(failures === 0 ? 'browser: all checks passed' : `browser: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
