// The dashboard in a real browser: playwright-core drives Debian's Chromium against the API (API
// keys on) with a worker in this process. The page takes the key, uploads a CSV, starts a job with
// the defaults, watches the learning curve grow from the event stream, and predicts one row; then
// it starts a hyperparameter search and watches its leaderboard fill.
// Screenshots go to test-artifacts/dashboard/ (gitignored).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { repoRoot } from '../helpers/processes.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LOANS = join(repoRoot, 'tests', 'fixtures', 'loans.csv');
const ARTIFACTS = join(repoRoot, 'test-artifacts', 'dashboard');

/**
 * The browser with a fresh profile (playwright passes it as --user-data-dir), or an error that
 * says what is missing and how to get it.
 */
async function launch(profileDir: string): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the dashboard's browser test needs it. ` +
        'Install it with `apt-get install chromium` (.ci/run does), or set CHROMIUM_PATH.',
    );
  }
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1180, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Samples the curve's point count until the job's page says it ended; returns the counts seen. */
async function watchCurve(page: Page, timeoutMs: number): Promise<number[]> {
  const seen: number[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const points = Number((await page.getAttribute('#curve', 'data-points')) ?? '0');
    if (seen.at(-1) !== points) seen.push(points);
    if (seen.length === 3 || (points >= 12 && seen.at(-2)! < 12)) {
      await page.screenshot({ path: join(ARTIFACTS, `3-job-live-${points}.png`) });
    }
    if ((await page.locator('#job-summary [data-status="succeeded"]').count()) > 0) break;
    await page.waitForTimeout(20);
  }
  return seen;
}

describe('dashboard in Chromium', () => {
  let t: TestApp;
  let worker: TrainingWorker | undefined;
  let browser: BrowserContext;
  let profileDir: string;
  let base: string;
  const logs: string[] = [];

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    profileDir = await mkdtemp(join(tmpdir(), 'bp-chromium-'));
    t = await createTestApp({ env: { API_KEYS: 'acme:key-acme' } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    browser = await launch(profileDir);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    await t?.close();
    await rm(profileDir, { recursive: true, force: true });
  });

  it('when a user enters the key, uploads a CSV, trains with the defaults and predicts, then each step shows its result', async () => {
    const page = await browser.newPage();
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));

    await page.goto(`${base}/`);
    expect(page.url()).toBe(`${base}/ui/`);
    await expect.poll(() => page.textContent('#view')).toContain('enter an API key');
    await page.fill('#api-key', 'key-acme');
    await page.click('#key-form button');
    await page.waitForSelector('#upload-form');

    await page.setInputFiles('#upload-file', LOANS);
    await page.click('#upload-form button');
    await page.waitForSelector('#columns');
    expect(await page.locator('#columns tr').count()).toBe(1 + 7); // header + 7 columns
    expect(await page.inputValue('#train-target')).toBe('decision');
    await page.screenshot({ path: join(ARTIFACTS, '1-dataset.png'), fullPage: true });

    // No worker yet: the job waits queued, so the page is open before the first epoch.
    await page.click('#train-form button');
    await page.waitForSelector('#job-summary [data-status="queued"]');
    expect(await page.getAttribute('#curve', 'data-points')).toBe('0');
    await page.screenshot({ path: join(ARTIFACTS, '2-job-queued.png') });
    worker = startTrainingWorker(t.config, createLogger('silent', 'worker'));

    const seen = await watchCurve(page, 90_000);
    await page.waitForSelector('#job-summary [data-status="succeeded"]');
    // The curve grew while the page watched: several distinct, increasing point counts.
    expect(seen.length, `point counts seen: ${seen.join(', ')}; ${logs.join(' | ')}`).toBeGreaterThanOrEqual(
      3,
    );
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    const jobId = page.url().split('/').at(-1)!;
    const job = (await (
      await fetch(`${base}/v1/training-jobs/${jobId}`, { headers: { authorization: 'Bearer key-acme' } })
    ).json()) as { history: unknown[] };
    // Read after the page shows the end: the ended job's curve holds every epoch of its history.
    expect(Number(await page.getAttribute('#curve', 'data-points'))).toBe(job.history.length);
    await page.screenshot({ path: join(ARTIFACTS, '4-job-done.png'), fullPage: true });

    await page.click('#model-link');
    await page.waitForSelector('#predict-form');
    expect(await page.locator('#metrics').textContent()).toContain('accuracy');
    expect(await page.locator('#confusion th').allTextContents()).toEqual(
      expect.arrayContaining(['approve', 'decline']),
    );
    await page.fill('#predict-form input[name="age"]', '41');
    await page.fill('#predict-form input[name="income"]', '72000');
    await page.fill('#predict-form input[name="employment"]', 'salaried');
    await page.click('#predict-form button');
    await page.waitForSelector('#predicted-label');
    expect(['approve', 'decline', 'review']).toContain(await page.textContent('#predicted-label'));
    await page.screenshot({ path: join(ARTIFACTS, '5-model.png'), fullPage: true });
    expect(logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  }, 180_000);

  it('when a user starts a search from a dataset page, then the leaderboard fills live and links the best model', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    const uploaded = await fetch(`${base}/v1/datasets?name=loans`, {
      method: 'POST',
      headers: { authorization: 'Bearer key-acme', 'content-type': 'text/csv' },
      body: await readFile(LOANS),
    });
    expect(uploaded.status).toBe(201);
    const datasetId = ((await uploaded.json()) as { id: string }).id;
    worker ??= startTrainingWorker(t.config, createLogger('silent', 'worker'));

    // A new tab asks for the key again (it is kept per tab, in sessionStorage).
    await page.goto(`${base}/ui/#/datasets/${datasetId}`);
    await page.fill('#api-key', 'key-acme');
    await page.click('#key-form button');
    await page.waitForSelector('#tune-form');
    expect(await page.inputValue('#tune-target')).toBe('decision');
    await page.fill('#tune-trials', '4');
    await page.click('#tune-form button');
    await page.waitForSelector('#leaderboard');
    expect(page.url()).toMatch(/#\/tuning\/tun_/);
    // Live: the page shows a running search first, then its end, without a reload.
    const firstStatus = await page.getAttribute('#leaderboard', 'data-status');
    await page.waitForSelector('#leaderboard[data-status="succeeded"]', { timeout: 150_000 });
    expect(['queued', 'running']).toContain(firstStatus);
    await page.screenshot({ path: join(ARTIFACTS, '6-search.png'), fullPage: true });
    expect(await page.locator('#leaderboard tr[data-trial]').count()).toBe(4);
    expect(await page.locator('#leaderboard tr.best').count()).toBe(1);
    // Trial 0 is the default job's parameters, marked as such.
    expect(await page.textContent('#leaderboard tr[data-trial="0"]')).toContain('0 (default)');

    const searchId = page.url().split('/').at(-1)!;
    const search = (await (
      await fetch(`${base}/v1/tuning-jobs/${searchId}`, { headers: { authorization: 'Bearer key-acme' } })
    ).json()) as { modelId: string; bestTrial: number };
    expect(await page.getAttribute('#leaderboard tr.best', 'data-trial')).toBe(String(search.bestTrial));
    // The summary shows the search's stage and its refit, whose model is the one linked.
    await page.waitForSelector('#search-stage');
    expect(await page.textContent('#search-stage')).toBe('done');
    expect(await page.textContent('#search-refit')).toContain(
      `trial ${search.bestTrial}, 5 folds: succeeded`,
    );
    await page.click('#best-model-link');
    await page.waitForSelector('#predict-form');
    expect(page.url()).toBe(`${base}/ui/#/models/${search.modelId}`);
    expect(logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  }, 200_000);
});
