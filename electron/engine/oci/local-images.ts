// The images of this machine's engines, for "Open image…" and `scratchyard
// images`: what `docker images` and `podman images` list, each with the
// reference skopeo opens it by (docker-daemon:NAME:TAG, containers-storage:NAME).
// Their output is untrusted text from another program: it is parsed here, the
// one place it enters, with zod, and a row that does not fit is left out. An
// engine that is not installed or does not answer is an empty list and one
// line saying why, never an error: the dialog still takes a typed reference.
import { z } from 'zod';
import { formatImageRef, parseImageRef } from '../../../shared/imageref';
import { exec } from '../tools/exec';
import { findTool } from '../tools/registry';

export type Engine = 'docker' | 'podman';

export interface LocalImage {
  engine: Engine;
  /** Repository name as the engine shows it ("<none>" for an untagged image). */
  name: string;
  tag?: string;
  /** sha256:… image id. */
  id: string;
  /** Bytes. */
  size: number;
  /** ISO 8601, or undefined when the engine did not say. */
  created?: string;
  /** What to open it by: docker-daemon:NAME:TAG / containers-storage:NAME:TAG, or by id when untagged. */
  ref: string;
}

export interface LocalImages {
  images: LocalImage[];
  /** One line per engine that gave no list, saying why. */
  notes: { engine: Engine; reason: string }[];
}

/** Each engine's own listing is bounded: a stuck daemon does not hold the dialog. */
const LIST_TIMEOUT_MS = 15_000;
const MAX_IMAGES = 10_000;

const text = z.string().max(4096);
const dockerRow = z.object({ Repository: text, Tag: text, ID: text, Size: text, CreatedAt: text.optional() });
const podmanRow = z.object({
  Id: z.string().regex(/^(?:sha256:)?[0-9a-f]{64}$/),
  /** podman 4.3 names an image's tags in Names (RepoTags null); later versions fill RepoTags too. */
  Names: z.array(text).max(1000).nullish(),
  RepoTags: z.array(text).max(1000).nullish(),
  Size: z.number().nonnegative().finite(),
  Created: z.number().finite().optional(),
});

/** docker's human sizes ("1.98MB", "512kB", "0B"): SI units, as docker prints them. */
export function parseDockerSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB|TB)$/.exec(s.trim());
  if (!m) return undefined;
  const unit = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[m[2] as 'B'];
  return Math.round(Number(m[1]) * unit);
}

/** docker's "2026-11-28 19:04:29 +0000 UTC" as ISO 8601. */
function dockerDate(s: string | undefined): string | undefined {
  const m = s && /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d)(\d\d)/.exec(s);
  if (!m) return undefined;
  const d = new Date(`${m[1]}T${m[2]}${m[3]}:${m[4]}`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The reference an engine image is opened by, checked by the one reference parser (a name it refuses is left out). */
function refOf(transport: 'docker-daemon' | 'containers-storage', name: string | undefined, id: string): string | undefined {
  const r = parseImageRef(`${transport}:${name ?? id}`);
  return typeof r === 'string' ? undefined : formatImageRef(r);
}

/** `docker images --no-trunc --format '{{json .}}'`: one JSON object a line. */
export function parseDockerImages(stdout: string): LocalImage[] {
  const out: LocalImage[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim() || out.length >= MAX_IMAGES) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      continue;
    }
    const row = dockerRow.safeParse(raw);
    if (!row.success) continue;
    const r = row.data;
    const id = /^(?:sha256:)?([0-9a-f]{64})$/.exec(r.ID)?.[1];
    const size = parseDockerSize(r.Size);
    if (!id || size === undefined) continue;
    const named = r.Repository !== '<none>' && r.Tag !== '<none>';
    const ref = refOf('docker-daemon', named ? `${r.Repository}:${r.Tag}` : undefined, `sha256:${id}`);
    if (!ref) continue;
    const created = dockerDate(r.CreatedAt);
    out.push({ engine: 'docker', name: r.Repository, ...(r.Tag !== '<none>' ? { tag: r.Tag } : {}), id: `sha256:${id}`, size, ...(created ? { created } : {}), ref });
  }
  return out;
}

/** `podman images --format json`: one array, an image with several tags listed once per tag. */
export function parsePodmanImages(stdout: string): LocalImage[] {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout || '[]');
  } catch {
    return [];
  }
  const rows = z.array(z.unknown()).max(MAX_IMAGES).safeParse(raw);
  if (!rows.success) return [];
  const out: LocalImage[] = [];
  for (const item of rows.data) {
    const row = podmanRow.safeParse(item);
    if (!row.success) continue;
    const r = row.data;
    const id = `sha256:${r.Id.replace(/^sha256:/, '')}`;
    const created = r.Created !== undefined && r.Created >= 0 ? new Date(r.Created * 1000).toISOString() : undefined;
    const common = { engine: 'podman' as const, id, size: r.Size, ...(created ? { created } : {}) };
    const tags = [...new Set([...(r.RepoTags ?? []), ...(r.Names ?? [])])];
    if (!tags.length) {
      const ref = refOf('containers-storage', undefined, id);
      if (ref) out.push({ ...common, name: '<none>', ref });
    }
    for (const t of tags) {
      const ref = refOf('containers-storage', t, id);
      const colon = t.lastIndexOf(':');
      const hasTag = colon > t.lastIndexOf('/');
      if (ref) out.push({ ...common, name: hasTag ? t.slice(0, colon) : t, ...(hasTag ? { tag: t.slice(colon + 1) } : {}), ref });
    }
  }
  return out;
}

/** One engine's images, or why there are none to show. */
async function listOf(engine: Engine, args: string[], parse: (stdout: string) => LocalImage[], signal?: AbortSignal): Promise<LocalImage[] | string> {
  const tool = findTool(engine);
  if (!tool) return `${engine} is not installed`;
  const timeout = AbortSignal.timeout(LIST_TIMEOUT_MS);
  const r = await exec(tool, args, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout }).catch((e: unknown) =>
    timeout.aborted ? `${engine} did not answer within ${LIST_TIMEOUT_MS / 1000} s` : `${engine} could not be run: ${e instanceof Error ? e.message : String(e)}`,
  );
  if (typeof r === 'string') return r;
  if (r.code !== 0) {
    const last = r.stderr.trim().split('\n').pop()?.slice(0, 300) || `exit code ${r.code}`;
    return /Cannot connect to the Docker daemon|docker\.sock/i.test(last) ? `${engine}: the engine is not reachable (${last})` : `${engine} images failed: ${last}`;
  }
  return parse(r.stdout);
}

/** The images of the local docker engine and podman's store, docker's first, newest first within each. */
export async function localImages(signal?: AbortSignal): Promise<LocalImages> {
  const [docker, podman] = await Promise.all([
    listOf('docker', ['images', '--no-trunc', '--format', '{{json .}}'], parseDockerImages, signal),
    listOf('podman', ['images', '--format', 'json'], parsePodmanImages, signal),
  ]);
  const images: LocalImage[] = [];
  const notes: LocalImages['notes'] = [];
  for (const [engine, got] of [['docker', docker], ['podman', podman]] as const) {
    if (typeof got === 'string') notes.push({ engine, reason: got });
    else images.push(...got.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '')));
  }
  return { images, notes };
}
