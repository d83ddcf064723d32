#!/usr/bin/env bash
# Times `npx tally quote` on a generated stream: wall time, lines/s and peak RSS.
#   bash test/bench/quote.sh [LINES]        (default 1,000,000; needs `npm run build` first)
# The stream is generated once per line count under test/artifacts/ (seeded, so the same
# bytes every time; events fall in the 20 days before today so they are on time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

lines="${1:-1000000}"
dir="test/artifacts/quote-bench"
mkdir -p "$dir"
stream="$dir/stream-$lines-$(date -u +%F).ndjson"
if [[ ! -s "$stream" ]]; then
  npx tsx test/bench/gen-stream.ts --lines "$lines" --accounts "$dir/accounts.ndjson" > "$stream"
fi

/usr/bin/time -f '%e %M %U %S' -o "$dir/time.txt" \
  npx tally quote --accounts "$dir/accounts.ndjson" < "$stream" > "$dir/answers.ndjson"
read -r wall rss_kb user sys < "$dir/time.txt"

answered=$(wc -l < "$dir/answers.ndjson")
[[ "$answered" -eq "$lines" ]] || { echo "quote wrote $answered lines for $lines" >&2; exit 1; }
awk -v n="$lines" -v w="$wall" -v r="$rss_kb" -v u="$user" -v s="$sys" 'BEGIN {
  printf "lines %d  wall %.2f s  %.0f lines/s  peak RSS %.0f MB  cpu user %.2f s sys %.2f s\n", n, w, n / w, r / 1024, u, s
}'
printf 'answers: %s charged, %s duplicates, %s dead\n' \
  "$(grep -c '"charge_micros"' "$dir/answers.ndjson")" \
  "$(grep -c '"duplicate"' "$dir/answers.ndjson")" \
  "$(grep -c '"dead"' "$dir/answers.ndjson")"
