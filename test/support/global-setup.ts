import type { TestProject } from 'vitest/node';
import { startTestServers } from './servers.js';

/**
 * One set of servers for the whole integration run (starting them takes about a second,
 * and the machine has two cores). Tests read the URLs with `inject('servers')`; fault
 * tests that kill or restart a server start their own set with startTestServers().
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = await startTestServers();
  const { natsUrl, natsSecurity, redisUrl, mongoUrl, serviceNkey, producerNkey } = servers;
  project.provide('servers', { natsUrl, natsSecurity, redisUrl, mongoUrl, serviceNkey, producerNkey });
  return () => servers.stop();
}
