#!/bin/sh
# Prints a fresh env file with every secret compose.cluster.yaml needs, each 48 random hex
# characters (URL-safe: the passwords go into NATS_URL and REDIS_URL as they are):
#   sh deploy/compose/secrets.sh > deploy/compose/secrets.env && chmod 600 deploy/compose/secrets.env
# Keep the file out of version control (.gitignore lists it). Rotating one secret: replace
# its line (e.g. with one line of this script's output) and recreate the services that
# read it (deploy/README.md, "Identities").
set -eu
secret() {
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}
for name in TALLY_NATS_PASSWORD PRODUCER_NATS_PASSWORD NATS_ROUTE_PASSWORD REDIS_PASSWORD REDIS_SENTINEL_PASSWORD \
  POSTGRES_PASSWORD ADMIN_TOKEN WEBHOOK_SECRET; do
  printf '%s=%s\n' "$name" "$(secret)"
done
