import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readEndpoints, resolveEndpoints } from '../../../shared/runtime/index.js';

describe('resolveEndpoints', () => {
  let dataDir: string;
  const urls = { natsUrl: 'nats://n:4222', redisUrl: 'redis://r:6379', mongoUrl: 'mongodb://m:27017/' };
  const seeds = { serviceNkey: '/data/service.nk', producerNkey: '/data/producer.nk' };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tally-endpoints-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  const write = (content: unknown) => writeFile(join(dataDir, 'endpoints.json'), typeof content === 'string' ? content : JSON.stringify(content));

  it('uses the configured URLs and NATS identity when all three are set, without looking at the data folder', async () => {
    const natsSecurity = { credsFile: '/etc/tally/nats.creds' };
    expect(await resolveEndpoints({ ...urls, natsSecurity, dataDir: join(dataDir, 'missing') })).toEqual({ ...urls, natsSecurity });
    expect(await resolveEndpoints({ ...urls, dataDir: join(dataDir, 'missing') })).toEqual({ ...urls, natsSecurity: {} });
  });

  it('tells the user to run tally up when nothing is configured or running', async () => {
    await expect(resolveEndpoints({ dataDir })).rejects.toMatchObject({ code: 'endpoints_missing', message: expect.stringContaining('tally up') });
  });

  it('uses endpoints.json of a live owner as the services identity, with configured URLs taking precedence', async () => {
    await write({ ...urls, ...seeds, pid: process.pid, startedAt: 'now' });
    const configured = { credsFile: '/etc/tally/nats.creds' };
    expect(await resolveEndpoints({ dataDir, natsSecurity: configured, redisUrl: 'redis://other:6380' })).toEqual({
      ...urls,
      natsSecurity: { nkeySeedFile: seeds.serviceNkey },
      redisUrl: 'redis://other:6380',
    });
    // A configured NATS_URL keeps its own identity: the embedded seed is for the embedded server only.
    expect(await resolveEndpoints({ dataDir, natsUrl: 'nats://other:4222', natsSecurity: configured })).toEqual({
      ...urls,
      natsUrl: 'nats://other:4222',
      natsSecurity: configured,
    });
  });

  it('rejects endpoints.json whose owner is gone as stale, and a corrupt one as invalid', async () => {
    await write({ ...urls, ...seeds, pid: 2 ** 22 + 1, startedAt: 'then' });
    await expect(readEndpoints(dataDir)).rejects.toMatchObject({ code: 'endpoints_missing', message: expect.stringContaining('stale') });
    await write('{"natsUrl":');
    await expect(readEndpoints(dataDir)).rejects.toMatchObject({ code: 'endpoints_missing', message: expect.stringContaining('not valid') });
    // One written before the embedded servers required identities: restart `tally up`.
    await write({ ...urls, pid: process.pid, startedAt: 'now' });
    await expect(readEndpoints(dataDir)).rejects.toMatchObject({ code: 'endpoints_missing', message: expect.stringContaining('not valid') });
  });
});
