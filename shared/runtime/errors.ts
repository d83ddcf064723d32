/**
 * Codes of the embedded-servers runtime. They never reach HTTP bodies or dead letters
 * (a CLI prints them and exits), so they live here rather than in the domain registry.
 */
export type EmbeddedErrorCode =
  /** Another live `tally up` owns the data folder. */
  | 'embedded_busy'
  /** A server binary is missing: run `npm run build`. */
  | 'binary_missing'
  /** A server exited or did not answer in time while starting. */
  | 'server_start_failed'
  /** No endpoints.json (or a stale one): nothing to connect to. */
  | 'endpoints_missing'
  /** A seed or password file under the data folder is not what the embedded servers need. */
  | 'identity_invalid';

export class EmbeddedError extends Error {
  readonly code: EmbeddedErrorCode;

  constructor(code: EmbeddedErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EmbeddedError';
    this.code = code;
  }
}
