import type { EmbeddedIdentities } from './identities.js';

/** The NATS account that holds the services and the streams; producers reach it only through its export. */
export const SERVICES_ACCOUNT = 'TALLY';
export const PRODUCERS_ACCOUNT = 'PRODUCERS';

const q = (s: string): string => JSON.stringify(s);

/**
 * nats-server's configuration for the embedded default (SPEC 14): no anonymous clients,
 * and two accounts. TALLY (JetStream) holds the services' user, full permissions, and
 * exports the service `usage.>`. PRODUCERS (no JetStream) holds the producers' user and
 * imports that service: a producer's publish to `usage.<account>` lands in the USAGE
 * stream and the pub-ack comes back to the producer's own inbox, yet no subject inside
 * TALLY can be named from PRODUCERS. A reply subject such as `$JS.ACK.USAGE.tally-bridge...`
 * is rewritten by the import, so a forged ack never reaches the bridge's consumer.
 * The user's allow lists make every other publish or subscribe a permissions violation
 * the producer is told about, rather than a message that silently goes nowhere.
 * Ports and the listen address stay on the command line (a restart keeps them).
 */
export function natsServerConfig(identities: Pick<EmbeddedIdentities, 'service' | 'producer'>, storeDir: string): string {
  return `# Written by tally at every start of the embedded servers; edits are replaced.
server_name: "tally-embedded"
jetstream {
  store_dir: ${q(storeDir)}
}
accounts {
  ${SERVICES_ACCOUNT} {
    jetstream: enabled
    users: [ { nkey: ${q(identities.service.publicKey)} } ]
    exports: [ { service: "usage.>" } ]
  }
  ${PRODUCERS_ACCOUNT} {
    users: [
      {
        nkey: ${q(identities.producer.publicKey)}
        permissions: {
          publish: { allow: ["usage.>"] }
          subscribe: { allow: ["_INBOX.>"] }
        }
      }
    ]
    imports: [ { service: { account: ${q(SERVICES_ACCOUNT)}, subject: "usage.>" } } ]
  }
}
`;
}

/**
 * redis-server's configuration file: the password lives here (mode 600), not on the
 * command line, where any local user could read it with `ps`.
 */
export function redisServerConfig(password: string): string {
  return `# Written by tally at every start of the embedded servers; edits are replaced.
requirepass ${q(password)}
`;
}
