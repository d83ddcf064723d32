/** Prometheus text exposition, read back for assertions. */

/** Every sample of a /metrics answer, keyed as printed: `name` or `name{label="v",…}`. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

export async function scrape(baseUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

/** How much each sample moved between two scrapes (absent before: counted from 0). */
export function delta(before: Map<string, number>, after: Map<string, number>, key: string): number {
  const now = after.get(key);
  if (now === undefined) throw new Error(`no sample ${key} in the second scrape`);
  return now - (before.get(key) ?? 0);
}
