// End-to-end test of the web UI: the real `playground` binary on a free port with a temporary
// data directory, driven in Debian's headless Chromium through playwright-core. It walks what a
// new user does (register, upload iris.csv, read its profile, train a model, watch the job,
// open the model, predict one row, sign out, sign in again with the keyboard), checks the
// admin pages, fails on any console error, saves a screenshot of each page, and prints the
// time to first render of the datasets page.
//
// Usage: node e2e/run.mjs --binary ../build/playground [--artifacts DIR] [--chromium PATH]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const binary = path.resolve(args.binary ?? path.join(root, 'build', 'playground'));
const artifacts = path.resolve(args.artifacts ?? path.join(root, 'build', 'web-e2e'));
const executablePath = args.chromium ?? process.env.CHROMIUM ?? '/usr/bin/chromium';
const iris = path.join(root, 'tests', 'fixtures', 'datasets', 'iris.csv');
fs.mkdirSync(artifacts, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitForHealth(base, server, deadline) {
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`playground exited with ${server.exitCode}`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('playground did not start within 30 s');
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`  ok  ${what}`);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-e2e-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const log = fs.openSync(path.join(artifacts, 'server.log'), 'w');
const server = spawn(binary, ['serve'], {
  env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', STATIC_DIR: path.join(root, 'web', 'dist'), LOG_LEVEL: 'warn' },
  stdio: ['ignore', log, log],
});
let browser;
let failed = false;
const consoleErrors = [];
const allowedErrors = [];
try {
  await waitForHealth(base, server, Date.now() + 30000);
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

  console.log(`e2e against ${base} (Chromium ${browser.version()})`);
  // Register: the first account is the admin.
  await page.goto(`${base}/`);
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('analytical-engine-1843');
  await shot('01-register');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Datasets', exact: true }).waitFor();
  check((await page.locator('.role').textContent()) === 'admin', 'registered; the first account is shown as admin');
  check(await page.getByRole('link', { name: 'Admin' }).isVisible(), 'the admin page is in the navigation');

  // A wrong upload shows the API's problem.
  const before = consoleErrors.length;
  await page.setInputFiles('#upload-file', { name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.from('') });
  await page.getByRole('button', { name: 'Upload' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  check(/\(4\d\d\)/.test(await alert.textContent()), `an empty file is refused with the API's message: "${(await alert.textContent()).slice(0, 90)}"`);
  allowedErrors.push(...consoleErrors.splice(before)); // the browser logs the refused request itself

  // Upload iris.csv with its progress, then open it.
  await page.setInputFiles('#upload-file', iris);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('status').filter({ hasText: 'Uploaded' }).waitFor();
  check((await page.getByRole('status').filter({ hasText: 'Uploaded' }).textContent()).includes('150 rows, 5 columns'), 'iris.csv uploaded: 150 rows, 5 columns');
  await shot('02-datasets');
  await page.getByRole('link', { name: 'iris.csv' }).first().click();
  await page.getByRole('img', { name: 'Correlation heatmap' }).waitFor();
  check((await page.locator('[aria-label="Correlation heatmap"] [data-testid="cell"]').count()) === 16, 'the correlation heatmap has 4 x 4 cells');
  check((await page.getByRole('img', { name: /^Histogram of/ }).count()) === 4, 'a histogram for each of the 4 numeric columns');
  check(await page.getByRole('table', { name: 'Top values of species' }).isVisible(), 'the top values of species are drawn');
  check((await page.locator('table.data tbody tr').count()) === 20, 'the preview shows a page of 20 rows');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('21–40 of 150').waitFor();
  check(true, 'the preview pages forward');
  await shot('03-dataset');
  const datasetUrl = page.url();

  // Change a column's type and back (the API answers with the new schema).
  await page.getByLabel('species', { exact: true }).selectOption('text');
  await page.getByRole('button', { name: 'Save types' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved 1 column type' }).waitFor();
  await page.getByLabel('species', { exact: true }).selectOption('category');
  await page.getByRole('button', { name: 'Save types' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved 1 column type' }).waitFor();
  check(true, 'column types are editable');

  // Train: the form of gradient boosting is generated from its declared parameters.
  await page.getByRole('link', { name: 'Train a model on it' }).click();
  await page.getByLabel('Target column').waitFor();
  check((await page.getByLabel('Target column').inputValue()) === 'species', 'the target defaults to species');
  check((await page.getByLabel('Task').inputValue()) === 'multiclass', 'the task suggested for species is multiclass');
  await page.getByLabel('Algorithm').selectOption('gradient_boosting');
  const rounds = page.getByLabel(/^n_estimators/);
  check((await rounds.inputValue()) === '100' && (await rounds.getAttribute('max')) === '10000', 'n_estimators shows its default 100 and maximum 10000');
  await rounds.fill('0');
  await page.getByRole('button', { name: 'Start training' }).click();
  check(await page.getByText('n_estimators: at least 1').first().isVisible(), 'an out-of-range parameter is named before sending');
  await rounds.fill('30');
  check((await page.getByText('n_estimators: at least 1').count()) === 0, 'the problem goes away once the value is fixed');
  await shot('04-train');
  await page.getByRole('button', { name: 'Start training' }).click();
  await page.getByRole('heading', { name: 'Jobs', exact: true }).waitFor();
  const job = page.locator('li.job.highlight');
  await job.locator('.badge-succeeded').waitFor({ timeout: 60000 });
  check(true, 'the training job was followed live to succeeded');
  await shot('05-jobs');

  // The model page: metrics, charts, promotion, one prediction.
  await job.getByRole('link', { name: 'Open model' }).click();
  await page.getByRole('table', { name: /Confusion matrix/ }).waitFor();
  check((await page.locator('[aria-label="ROC curve"] [data-testid="series"]').count()) === 3, 'ROC curves for the 3 classes');
  check((await page.locator('[aria-label="Precision-recall curve"] [data-testid="series"]').count()) === 3, 'PR curves for the 3 classes');
  check(await page.getByRole('table', { name: 'Feature importance' }).isVisible(), 'feature importance is drawn');
  await page.getByRole('button', { name: 'Promote' }).click();
  await page.getByRole('status').filter({ hasText: 'is now the version' }).waitFor();
  check(true, 'the model was promoted');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
  const artifact = fs.readFileSync(await download.path());
  check(download.suggestedFilename().endsWith('-v1.model') && artifact.subarray(0, 8).toString() === 'PGMODEL1', `the model downloads as ${download.suggestedFilename()} (${artifact.length} bytes, PGMODEL1)`);
  await page.getByLabel(/^sepal length/).fill('5.1');
  await page.getByLabel(/^sepal width/).fill('3.5');
  await page.getByLabel(/^petal length/).fill('1.4');
  await page.getByLabel(/^petal width/).fill('0.2');
  await page.getByRole('button', { name: 'Predict' }).click();
  await page.getByTestId('prediction').waitFor();
  check((await page.getByTestId('prediction').textContent()) === 'setosa', 'the row 5.1, 3.5, 1.4, 0.2 is predicted setosa');
  await page.getByRole('button', { name: 'Score every row' }).click();
  const saveScores = page.getByRole('button', { name: 'Download predictions (CSV)' });
  await saveScores.waitFor({ timeout: 60000 });
  const [scores] = await Promise.all([page.waitForEvent('download'), saveScores.click()]);
  const csv = fs.readFileSync(await scores.path(), 'utf8').trim().split('\n');
  check(csv.length === 151, `a batch prediction scores every row of iris.csv (${csv.length - 1} rows, header: ${csv[0].slice(0, 60)})`);
  await shot('06-model');

  await page.getByRole('link', { name: 'Models' }).click();
  await page.getByRole('cell', { name: /gradient_boosting/ }).first().waitFor();
  check((await page.locator('table').first().locator('tbody tr').count()) === 1, 'the leaderboard lists the model');
  await shot('07-models');

  // Cancel and retry from the jobs page: a long job started by a program of the same account.
  const login = await (
    await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password: 'analytical-engine-1843' }) })
  ).json();
  const sleeper = await (
    await fetch(`${base}/api/v1/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${login.access_token}` }, body: JSON.stringify({ type: 'sleep', params: { ms: 120000 } }) })
  ).json();
  await page.goto(`${base}/jobs?job=${sleeper.id}`);
  const row = page.locator(`li[data-job="${sleeper.id}"]`);
  await row.locator('.badge-running').waitFor();
  await row.getByRole('button', { name: 'Cancel' }).click();
  await row.locator('.badge-cancelled').waitFor();
  check(true, 'a running job is cancelled from the jobs page');
  await row.getByRole('button', { name: 'Retry' }).click();
  await row.locator('.badge-running, .badge-queued').first().waitFor();
  check(true, 'the cancelled job is retried');
  await row.getByRole('button', { name: 'Cancel' }).click();
  await row.locator('.badge-cancelled').waitFor();

  // Admin pages.
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByRole('cell', { name: /ada@example.com/ }).waitFor();
  await page.getByLabel('Email').fill('grace@example.com');
  await page.getByLabel('Password').fill('compiler-cobol-1959');
  await page.getByLabel('Role', { exact: true }).selectOption('member');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: 'grace@example.com' }).waitFor();
  check((await page.getByLabel('Role of grace@example.com').inputValue()) === 'member', 'an admin creates a member account');
  await shot('08-admin-users');
  await page.goto(datasetUrl);
  await page.getByLabel('Email of an account').fill('grace@example.com');
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  await page.getByRole('cell', { name: 'grace@example.com' }).waitFor();
  check(true, 'the dataset is shared read-only with grace@example.com');
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByRole('tab', { name: 'Audit log' }).click();
  await page.getByRole('cell', { name: 'login', exact: true }).first().waitFor();
  check(true, 'the audit log lists the sign-in');
  await page.getByRole('tab', { name: 'System' }).click();
  await page.getByTestId('queue-depth').waitFor();
  check((await page.getByText('healthy').count()) > 0, 'the system page shows the health and queue depth');
  await shot('09-admin-system');
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByLabel('Name').fill('notebook');
  await page.getByRole('button', { name: 'Create' }).click();
  check(/^pgk_/.test(await page.locator('code.secret').textContent()), 'an API key is created and shown once');

  // A reload keeps the session (the refresh cookie), at phone width nothing spills sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(datasetUrl);
  await page.getByRole('img', { name: 'Correlation heatmap' }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `after a reload still signed in; at 390 px the page is not wider than the screen (${overflow} px over)`);
  await shot('10-dataset-phone');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Time to first render of the datasets page, in a fresh tab of the signed-in browser.
  const timings = [];
  for (let i = 0; i < 5; i++) {
    const tab = await context.newPage();
    tab.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await tab.goto(`${base}/datasets`);
    await tab.getByRole('link', { name: 'iris.csv' }).first().waitFor();
    timings.push(
      await tab.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        return { fcp: fcp ? fcp.startTime : null, listed: performance.now(), dom: nav.domContentLoadedEventEnd };
      }),
    );
    await tab.close();
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const figures = {
    first_contentful_paint_ms: median(timings.map((t) => t.fcp)),
    datasets_listed_ms: median(timings.map((t) => t.listed)),
    dom_content_loaded_ms: median(timings.map((t) => t.dom)),
  };
  fs.writeFileSync(path.join(artifacts, 'timings.json'), JSON.stringify({ runs: timings, median: figures }, null, 2));
  console.log(`  datasets page, median of 5 loads: first contentful paint ${figures.first_contentful_paint_ms.toFixed(0)} ms, list shown ${figures.datasets_listed_ms.toFixed(0)} ms`);

  // Sign out, then in again with the keyboard only.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('tab', { name: 'Sign in' }).waitFor();
  check(true, 'signed out');
  await page.goto(`${base}/datasets`);
  await page.getByRole('tab', { name: 'Sign in' }).waitFor();
  check(true, 'after signing out a reload shows the sign-in page');
  await shot('11-signed-out');
  await page.getByLabel('Email').focus();
  await page.keyboard.type('ada@example.com');
  await page.keyboard.press('Tab');
  await page.keyboard.type('analytical-engine-1843');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Datasets', exact: true }).waitFor();
  await page.keyboard.press('Tab');
  check((await page.evaluate(() => document.activeElement?.textContent)) === 'Skip to content', 'signed in with the keyboard; the first Tab reaches "Skip to content"');

  // A member sees no admin page.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Email').fill('grace@example.com');
  await page.getByLabel('Password').fill('compiler-cobol-1959');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Datasets', exact: true }).waitFor();
  check((await page.locator('.role').textContent()) === 'member', 'a member signs in and is shown as member');
  check((await page.getByRole('link', { name: 'Admin' }).count()) === 0, 'a member has no admin page in the navigation');
  await page.getByRole('link', { name: 'iris.csv' }).first().click();
  await page.getByRole('img', { name: 'Correlation heatmap' }).waitFor();
  check((await page.getByRole('button', { name: 'Save types' }).count()) === 0 && (await page.getByLabel('species', { exact: true }).isDisabled()), 'the member reads the shared dataset and cannot change its types');
  await page.goto(`${base}/admin`);
  await page.getByRole('heading', { name: 'Not found' }).waitFor();
  check(true, 'the admin path shows "Not found" to a member');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('tab', { name: 'Sign in' }).waitFor();

  // The owner deletes the model, then the dataset (each asks once more).
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('analytical-engine-1843');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Models' }).click();
  await page.getByRole('link', { name: /gradient_boosting v1/ }).first().click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByText('No models yet.').waitFor();
  check(true, 'the model is deleted');
  await page.goto(datasetUrl);
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByText(/No datasets yet/).waitFor();
  check(true, 'the dataset is deleted');

  check(consoleErrors.length === 0, `no console errors${consoleErrors.length ? `: ${consoleErrors.join(' | ')}` : ''}`);
  console.log(`e2e passed; screenshots in ${artifacts}`);
} catch (e) {
  failed = true;
  console.error(`e2e FAILED: ${e.stack ?? e}`);
  if (consoleErrors.length) console.error(`console errors: ${consoleErrors.join(' | ')}`);
  try {
    const pages = browser?.contexts()[0]?.pages() ?? [];
    if (pages[0]) await pages[0].screenshot({ path: path.join(artifacts, 'failure.png'), fullPage: true });
  } catch {
    // no screenshot of the failure
  }
} finally {
  await browser?.close();
  server.kill('SIGTERM');
  await new Promise((r) => (server.exitCode !== null ? r() : server.on('exit', r)));
  fs.rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
