// A base image's config as the starting config of a recipe. The fields a
// recipe can say (entrypoint, cmd, env, workdir, user, labels, exposed ports)
// are read from the base's config, checked by the recipe's own grammar, and
// the recipe's config overrides them field by field: env and labels merge by
// name, exposed ports add up, and (as docker's ENTRYPOINT does) a recipe
// entrypoint without a cmd drops the base's cmd. The base's other fields
// (Volumes, StopSignal, Healthcheck…) pass through unchanged. Pure.
import { imageConfigSchema, type ImageConfig } from '../../../shared/recipe';

export interface BaseConfig {
  /** The base's values of the recipe's fields. */
  fields: Partial<ImageConfig>;
  /** The rest of its config.config, in its own order. */
  other: Record<string, unknown>;
  /** Its history, os, variant and architecture: what the output's config keeps of it. */
  history: Record<string, unknown>[];
  os?: string;
  variant?: string;
  architecture?: string;
}

/** What is wrong with a base's config, naming the field. */
export class BaseConfigError extends Error {}

const OURS = new Set(['Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'User', 'Labels', 'ExposedPorts']);

export function readBaseConfig(config: unknown): BaseConfig {
  const top = (config ?? {}) as Record<string, unknown>;
  if (typeof top !== 'object' || Array.isArray(top)) throw new BaseConfigError('the config is not a JSON object');
  const c = (top.config ?? {}) as Record<string, unknown>;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new BaseConfigError('config.config is not a JSON object');
  const strings = (v: unknown, field: string): string[] | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new BaseConfigError(`config.${field}: expected a list of strings`);
    return v as string[];
  };
  const raw: Record<string, unknown> = {};
  const ep = strings(c.Entrypoint, 'Entrypoint');
  const cmd = strings(c.Cmd, 'Cmd');
  if (ep) raw.entrypoint = ep;
  if (cmd) raw.cmd = cmd;
  const env: Record<string, string> = {};
  for (const kv of strings(c.Env, 'Env') ?? []) {
    const eq = kv.indexOf('=');
    env[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
  }
  raw.env = env;
  if (typeof c.WorkingDir === 'string' && c.WorkingDir !== '') raw.workdir = c.WorkingDir;
  if (typeof c.User === 'string' && c.User !== '') raw.user = c.User;
  if (c.Labels && typeof c.Labels === 'object') raw.labels = c.Labels;
  if (c.ExposedPorts && typeof c.ExposedPorts === 'object') raw.exposedPorts = Object.keys(c.ExposedPorts);
  const parsed = imageConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new BaseConfigError(`config.${i.path.join('.')}: ${i.message}`);
  }
  const history = Array.isArray(top.history) ? top.history.filter((h): h is Record<string, unknown> => typeof h === 'object' && h !== null && !Array.isArray(h)) : [];
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const other = Object.fromEntries(Object.entries(c).filter(([k]) => !OURS.has(k)));
  return { fields: parsed.data, other, history, os: str(top.os), variant: str(top.variant), architecture: str(top.architecture) };
}

/** The recipe's config over the base's. */
export function mergeConfig(base: Partial<ImageConfig>, recipe: ImageConfig): ImageConfig {
  const out: ImageConfig = { ...base, env: { ...base.env } };
  if (recipe.entrypoint !== undefined) {
    out.entrypoint = recipe.entrypoint;
    if (recipe.cmd === undefined) delete out.cmd;
  }
  if (recipe.cmd !== undefined) out.cmd = recipe.cmd;
  for (const [k, v] of Object.entries(recipe.env)) out.env[k] = v;
  if (recipe.workdir !== undefined) out.workdir = recipe.workdir;
  if (recipe.user !== undefined) out.user = recipe.user;
  if (recipe.labels !== undefined) out.labels = { ...base.labels, ...recipe.labels };
  if (recipe.exposedPorts !== undefined) out.exposedPorts = [...new Set([...(base.exposedPorts ?? []), ...recipe.exposedPorts])];
  return out;
}
