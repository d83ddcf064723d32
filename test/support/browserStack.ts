import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startApi, type RunningApi } from '../../services/api/index.js';
import type { Config } from '../../shared/config/index.js';
import { ADMIN_TOKEN, WEBHOOK_SECRET } from './api.js';
import { launchBrowser } from './browser.js';
import { probe, startPipeline, testConfig, type Probe, type Started } from './pipeline.js';
import { startTestServers, testLogger, type TestServers } from './servers.js';

export interface BrowserStackOptions {
  /** The services' variables besides the admin token and the webhook secret. */
  env?: Record<string, string>;
  /**
   * Runs on the probe before the services start (e.g. a first pipeline that dead-letters
   * records); returns the variables the services then run with, on the same database.
   */
  prepare?: (stack: BrowserStack) => Promise<Record<string, string>>;
  /** Runs once the pipeline and the API run, before the browser opens (publish, drain). */
  seed?: (stack: BrowserStack) => Promise<void>;
  viewport?: { width: number; height: number };
}

/** Private servers, the pipeline and the API in this process (as `tally up` runs them), and Chromium. */
export interface BrowserStack {
  servers: TestServers;
  config: Config;
  p: Probe;
  pipeline: Started<typeof startPipeline>;
  api: RunningApi;
  browser: Browser;
  page: Page;
}

/**
 * One describe block's browser stack, started before its tests and stopped after them. The
 * fields are set once `beforeAll` has run.
 */
export function useBrowserStack(options: BrowserStackOptions = {}): BrowserStack {
  const s = {} as BrowserStack;
  const configOf = (env: Record<string, string>): Config => testConfig(s.servers, { ADMIN_TOKEN, WEBHOOK_SECRET, ...env });
  beforeAll(async () => {
    s.servers = await startTestServers();
    s.config = configOf(options.env ?? {});
    s.p = await probe(s.config, s.servers);
    if (options.prepare) s.config = configOf({ ...(await options.prepare(s)), MONGO_DB: s.config.mongoDb });
    s.pipeline = await startPipeline(s.config, s.servers);
    s.api = await startApi({ ...s.config, httpPort: 0 }, s.servers, testLogger());
    await options.seed?.(s);
    s.browser = await launchBrowser();
    s.page = await (await s.browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } })).newPage();
  }, 180_000);
  afterAll(async () => {
    await s.browser?.close();
    await s.api?.stop();
    await s.pipeline?.stop();
    await s.p?.close();
    await s.servers?.stop();
  });
  return s;
}
