import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URLs of the servers global-setup.ts started for the integration project. */
    servers: { natsUrl: string; redisUrl: string; mongoUrl: string };
  }
}
