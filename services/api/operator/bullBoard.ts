import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { httpFailure } from '../errors.js';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * bull-board for every queue of the product, mounted in `scope` (whose onRequest hook
 * checks the operator's credentials). Read-only except retries: a retried usage job is
 * safe (the shard owner's id dedup), while emptying or cleaning a shard queue would only
 * make the bridges re-add what it held.
 */
export function registerBullBoard(scope: FastifyInstance, queues: readonly Queue[]): void {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true, allowRetries: true })),
    // @bull-board/fastify 9.10.1 pins its own copy of @bull-board/api, whose private
    // fields make the two declarations of one class "different" to TypeScript; at run time
    // the adapter uses only fastify, and createBullBoard hands it everything it needs.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'tally queues', miscLinks: [{ text: 'Operator dashboard', url: '/' }], hideDocsLink: true } },
  });
  // Its own handler answers every error as a 500 page of its own; ours keeps the registry's codes.
  serverAdapter.setErrorHandler((err: Error) => {
    const { error, log } = httpFailure(err);
    if (log) scope.log[log]({ err }, 'bull-board request failed');
    // bull-board's status type lists fewer codes than fastify sends as they are.
    return { status: error.status as 500, body: error.toBody() };
  });
  void scope.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
