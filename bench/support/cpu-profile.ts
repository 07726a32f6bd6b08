/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that a summary needs. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  name: string;
  /** Share of the busy time (everything but "(idle)"), 0 to 1. */
  share: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  /** Self time by function, largest first. */
  functions: ProfileShare[];
  /** Self time by where the code comes from: a package, Node's internals, camrelay, the GC. */
  origins: ProfileShare[];
}

const IDLE = '(idle)';

/**
 * Where a process spent its CPU (pure): self time per function and per origin, as shares of the time it was
 * not idle. A sample's time is the delta that follows it, as Chrome's profiler counts it.
 */
export function summariseCpuProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const functions = new Map<string, number>();
  const origins = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id);
    const us = profile.timeDeltas[index + 1] ?? 0;
    if (!frame || frame.functionName === IDLE) {
      idleUs += us;
      return;
    }
    busyUs += us;
    add(functions, functionLabel(frame), us);
    add(origins, originOf(frame.url, frame.functionName), us);
  });
  const shares = (totals: Map<string, number>) =>
    [...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, share: busyUs > 0 ? us / busyUs : 0 }));
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions: shares(functions),
    origins: shares(origins),
  };
}

function add(totals: Map<string, number>, key: string, us: number): void {
  totals.set(key, (totals.get(key) ?? 0) + us);
}

function functionLabel(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  return `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

/** node_modules/<package>, node:<module>, camrelay's own dist/ path, or V8's pseudo-frames such as (garbage collector). */
export function originOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module?.[1]) return module[1];
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/dist\/(.+)$/.exec(url);
  return own?.[1] ? `camrelay ${own[1]}` : shortUrl(url);
}

function shortUrl(url: string): string {
  const module = url.lastIndexOf('node_modules/');
  if (module >= 0) return url.slice(module + 'node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}
