/// <reference lib="dom" />
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type IngestServer, startIngestServer } from '@flow-dispatcher/ingest';
import { adminUiOptionsFromConfig, registerAdminUi } from '@flow-dispatcher/ingest/admin-ui';
import { Producer } from '@flow-dispatcher/producer';
import { createLogger, loadConfig } from '@flow-dispatcher/shared';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { CHROMIUM, requireTool } from './support/tools.js';

const TOKEN = 'ingest-token-0123456789';
const ADMIN_TOKEN = 'admin-token-0123456789';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

const chromiumBin = requireTool('chromium', CHROMIUM);

describe.skipIf(!chromiumBin.path)('admin UI in a real headless Chromium', () => {
  let prefix: string;
  let producer: Producer;
  let ingest: IngestServer;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    prefix = uniquePrefix('admin-ui');
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
    await producer.triggerMany(
      'Welcome_SMS',
      Array.from({ length: 3 }, (_, i) => ({
        IndividualId: `0PKui${String(i).padStart(13, '0')}`,
      })),
    );
    await producer.trigger('Order_Confirmation_Email', { IndividualId: '0PKui0000000000009' });
    const config = loadConfig({
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      INGEST_PORT: '0',
      INGEST_TOKENS: TOKEN,
      ADMIN_TOKENS: ADMIN_TOKEN,
      ADMIN_UI: 'on',
    });
    ingest = await startIngestServer({
      config,
      logger: createLogger({ level: 'silent' }),
      host: '127.0.0.1',
      extend: (app, { redis }) => registerAdminUi(app, adminUiOptionsFromConfig(config, redis)),
    });
    profile = mkdtempSync(join(tmpdir(), 'fd-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumBin.path,
      headless: true,
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
      viewport: { width: 1280, height: 800 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await ingest?.close();
    await producer?.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('is refused without a login, then lists the flow queues; a screenshot is saved', async () => {
    const page = await context.newPage();
    // Not logged in: the UI sends the browser to its login form, and the API answers 401.
    await page.goto(`${ingest.url}/admin/`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    expect((await page.request.get(`${ingest.url}/admin/api/queues`)).status()).toBe(401);

    await page.fill('input[name=token]', 'not-the-token-0000000');
    await page.click('button[type=submit]');
    expect(await page.getByRole('alert').textContent()).toMatch(/not accepted/);
    expect(new URL(page.url()).pathname).toBe('/admin/login');

    await page.fill('input[name=token]', ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${ingest.url}/admin/`), page.click('button[type=submit]')]);
    for (const flow of ['Welcome_SMS', 'Order_Confirmation_Email']) {
      await page.getByText(flow, { exact: true }).first().waitFor({ timeout: 30_000 });
    }
    // The session cookie is out of the page's reach and never leaves this site.
    const [cookie] = await context.cookies(`${ingest.url}/admin/`);
    expect(cookie).toMatchObject({
      name: 'fd_admin',
      httpOnly: true,
      sameSite: 'Strict',
      path: '/admin',
    });
    expect(await page.evaluate(() => document.cookie)).toBe('');

    await page.getByText('Welcome_SMS', { exact: true }).first().click();
    await page.waitForURL(/\/admin\/queue\/Welcome_SMS/);
    await page
      .getByText(/waiting/i)
      .first()
      .waitFor();

    mkdirSync(ARTIFACTS, { recursive: true });
    // One file per Node major: CI runs the suite on Node 20 and Node 24 side by side.
    const screenshot = join(ARTIFACTS, `admin-ui-node${process.versions.node.split('.')[0]}.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
  });
});
