#!/usr/bin/env bash
# Times `npx tally quote` on a generated stream: wall time, lines/s and peak RSS.
#   bash test/bench/quote.sh [LINES] [RUNS]   (defaults 1,000,000 and 5; needs `npm run build` first)
# The stream is generated once per line count and day under test/artifacts/ by `tally
# generate` (seeded, so the same bytes for the same day; events fall in the 20 days before
# today so they are on time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

lines="${1:-1000000}"
runs="${2:-5}"
dir="test/artifacts/quote-bench"
mkdir -p "$dir"
day="$(date -u +%F)"
stream="$dir/stream-$lines-$day.ndjson"
accounts="$dir/accounts-$lines-$day.ndjson"
if [[ ! -s "$stream" || ! -s "$accounts" ]]; then
  # Events in the 20 days before today 00:00 UTC: on time for a quote run any time today.
  node bin/tally.js generate --records "$lines" --accounts 1000 --seed 42 --bad-rate 0.02 --dup-rate 0.02 \
    --days 20 --now "${day}T00:00:00Z" --out "$stream" --accounts-out "$accounts"
fi

# One warm-up run (page cache, compile cache), then RUNS timed runs; the median is the figure.
: > "$dir/runs.txt"
for run in $(seq 0 "$runs"); do
  /usr/bin/time -f '%e %M %U %S' -o "$dir/time.txt" \
    npx tally quote --accounts "$accounts" < "$stream" > "$dir/answers.ndjson"
  answered=$(wc -l < "$dir/answers.ndjson")
  [[ "$answered" -eq "$lines" ]] || { echo "quote wrote $answered lines for $lines" >&2; exit 1; }
  [[ "$run" -eq 0 ]] && continue
  read -r wall rss_kb user sys < "$dir/time.txt"
  echo "$wall $rss_kb $user $sys" >> "$dir/runs.txt"
  awk -v n="$lines" -v w="$wall" -v r="$rss_kb" -v u="$user" -v s="$sys" -v k="$run" 'BEGIN {
    printf "run %d: wall %.2f s  %.0f lines/s  peak RSS %.0f MB  cpu user %.2f s sys %.2f s\n", k, w, n / w, r / 1024, u, s
  }'
done
sort -n "$dir/runs.txt" | awk -v n="$lines" '{ wall[NR] = $1; if ($2 > rss) rss = $2 } END {
  m = (NR % 2) ? wall[(NR + 1) / 2] : (wall[NR / 2] + wall[NR / 2 + 1]) / 2
  printf "lines %d, %d runs: wall median %.2f s (%.2f-%.2f)  %.0f lines/s at the median  peak RSS %.0f MB\n", n, NR, m, wall[1], wall[NR], n / m, rss / 1024
}'
printf 'answers: %s charged, %s duplicates, %s dead\n' \
  "$(grep -c '"charge_micros"' "$dir/answers.ndjson")" \
  "$(grep -c '"duplicate"' "$dir/answers.ndjson")" \
  "$(grep -c '"dead"' "$dir/answers.ndjson")"
