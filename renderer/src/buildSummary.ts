// The one-line summary of a build, as the header, the log and the history show
// it: "Built 3 min ago · 2 layers · 5.3 MiB · 2 of them cached · out/app.docker.tar, …".
import type { BuildRecord } from '../../shared/contract';
import { bytes, duration } from './format';

export function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

/** An output path as the project sees it: relative to its folder when inside it. */
export function shortPath(p: string, projectDir?: string): string {
  return projectDir && p.startsWith(projectDir + '/') ? p.slice(projectDir.length + 1) : p;
}

export function outputsOf(r: BuildRecord, projectDir?: string): string[] {
  return Object.values(r.outputs).map((p) => shortPath(p, projectDir));
}

export function summaryLine(r: BuildRecord, now: number, projectDir?: string): string {
  if (!r.ok) return `Build failed ${ago(r.at, now)} after ${duration(r.ms)}: ${r.error ?? 'unknown error'}`;
  const layers = `${r.layers.length} layer${r.layers.length === 1 ? '' : 's'}`;
  // Layers taken from the cache: the graph beside it counts cached nodes, which are more.
  return [`Built ${ago(r.at, now)} in ${duration(r.ms)}`, layers, bytes(r.size), `${r.cacheHits} of them cached`, outputsOf(r, projectDir).join(', ')].filter(Boolean).join(' · ');
}
