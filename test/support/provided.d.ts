import 'vitest';
import type { Endpoints } from '../../shared/runtime/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The servers global-setup.ts started for the integration project, and the seed files of their two NATS users. */
    servers: Endpoints & { serviceNkey: string; producerNkey: string };
  }
}
