/**
 * Where the time goes: reads V8 `.cpuprofile` files (`node --cpu-prof`) and sums self time
 * per function and per area (a package under node_modules, a tally module, Node internals,
 * GC). Used by the benchmark runner, and on its own:
 *
 *   npx tsx test/bench/profile.ts FILE.cpuprofile [--top 15]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time, idle excluded, in ms. */
  busyMs: number;
  idleMs: number;
  functions: { name: string; area: string; selfMs: number; share: number }[];
  areas: { area: string; selfMs: number; share: number }[];
}

/** Which part of the system a frame belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/dist\/((?:services|shared)\/[^/]+)/.exec(url);
  return own ? `tally ${own[1]}` : url;
}

export function summarize(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the gap before sample i; the time belongs to the sample it precedes.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fns = new Map<string, { area: string; us: number }>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const area = areaOf(url, functionName);
    const file = url.split('/').slice(-1)[0] ?? '';
    const key = `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
    const f = fns.get(key) ?? { area, us: 0 };
    f.us += us;
    fns.set(key, f);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const share = (us: number): number => (busyUs > 0 ? Math.round((1000 * us) / busyUs) / 10 : 0);
  return {
    busyMs: Math.round(busyUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    functions: [...fns]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, f]) => ({ name, area: f.area, selfMs: Math.round(f.us / 1000), share: share(f.us) })),
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => ({ area, selfMs: Math.round(us / 1000), share: share(us) })),
  };
}

export async function summarizeFile(file: string, top = 15): Promise<ProfileSummary> {
  return summarize(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, top);
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const rows = [`${title}: ${s.busyMs} ms busy, ${s.idleMs} ms idle`, '  by area (self time, % of busy):'];
  for (const a of s.areas) rows.push(`    ${a.share.toFixed(1).padStart(5)}%  ${String(a.selfMs).padStart(7)} ms  ${a.area}`);
  rows.push('  top functions:');
  for (const f of s.functions) rows.push(`    ${f.share.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(7)} ms  ${f.name}  [${f.area}]`);
  return rows.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '15' } } });
  for (const file of positionals) console.log(formatSummary(file, await summarizeFile(file, Number(values.top))));
}
