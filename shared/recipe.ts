// The recipe: what a project's scratchyard.yaml may say. One schema gives the
// TypeScript types, the runtime validation and (via `scratchyard schema`) the
// JSON Schema that editors use.
import { z } from 'zod';
import {
  MAX_ID,
  accountNameProblem,
  accountPathProblem,
  configUserProblem,
  dbFieldProblem,
  debianPackageProblem,
  debianWordProblem,
  envNameProblem,
  hostPathProblem,
  imagePathProblem,
  mirrorProblem,
  nulProblem,
  parseReference,
  pathProblem,
  portProblem,
  referenceProblem,
} from './grammar';
import { parseImageRef } from './imageref';

/** The latest recipe epoch: 2038-01-19T03:14:07Z, the last second tar's and cpio's time fields hold as written here. */
export const MAX_EPOCH = 2 ** 31 - 1;

/** A project's outputs folder, inside it, when a build is not told another. */
export const DEFAULT_OUT_DIR = 'out';

/** A string checked by one of grammar.ts's checks: one issue, saying what is wrong. */
function checked(check: (s: string) => string | undefined) {
  return z.string().superRefine((s, ctx) => {
    const problem = check(s);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** A uid or gid. */
const id = z
  .number({ message: 'expected a numeric id' })
  .int({ message: 'expected a whole number' })
  .min(0, { message: 'ids are not negative (0 to 4294967294)' })
  .max(MAX_ID, { message: `ids run from 0 to ${MAX_ID} (2³²−1 means "no id")` });

const octalMode = z
  .string({
    // Unquoted, YAML reads 0755 as the number 755: say so, rather than "expected string, received number".
    error: (iss) => (typeof iss.input === 'number' ? `write the mode quoted, as an octal string ("0${String(iss.input).replace(/^0+/, '')}"): unquoted, YAML reads it as the number ${iss.input}` : 'expected an octal string such as "0755"'),
  })
  .regex(/^0?[0-7]{3,4}$/, { message: 'expected an octal string such as "0755"' })
  .describe('permission bits as an octal string, e.g. "0755"');

/** An absolute path inside the image: no `..`, no control characters. */
const imagePath = checked(imagePathProblem).describe('absolute path inside the image');
const hostPath = checked(hostPathProblem).describe('absolute path on the build machine');
/** Relative to the project folder, or a path inside a stage: where it may lead is checked when it is used. */
const anyPath = checked(pathProblem);
/** An argument of a program run in the image: anything but NUL, which no argv can hold. */
const argument = checked(nulProblem);

const owner = checked((o) => {
  const m = /^(\d+):(\d+)$/.exec(o);
  if (!m) return pathProblem(o) ?? 'expected numeric "uid:gid", e.g. "0:0"';
  const big = [m[1], m[2]].find((n) => Number(n) > MAX_ID);
  return big === undefined ? undefined : `id ${big} is out of range: ids run from 0 to ${MAX_ID}`;
}).describe('numeric owner "uid:gid"');

const envName = checked(envNameProblem);
const env = z.record(envName, argument);

const busyboxSource = z.strictObject({
  kind: z.literal('busybox'),
  path: anyPath.optional().describe('host busybox binary (default: /bin/busybox, a static build from busybox-static)'),
  links: z.boolean().default(true).describe('add a symlink for every applet'),
});

const hostSource = z.strictObject({
  kind: z.literal('host'),
  paths: z.array(hostPath).min(1).describe('host files, copied to the same path in the image'),
  libs: z.boolean().default(false).describe('also add their shared-library closure to this layer'),
  trace: z
    .array(z.tuple([hostPath]).rest(argument))
    .optional()
    .describe('commands (argv, the program an absolute host path) run on this machine under strace; the files they use join the source (list kept in scratchyard.trace/)'),
});

const libsSource = z.strictObject({
  kind: z.literal('libs'),
  from: z.array(z.string()).optional().describe('layers whose ELF files need libraries (default: every layer above this one)'),
});

const fileSource = z.strictObject({
  kind: z.literal('file'),
  path: imagePath,
  content: z.string(),
  mode: octalMode.default('0644'),
  owner: owner.default('0:0'),
});

const symlinkSource = z.strictObject({
  kind: z.literal('symlink'),
  path: imagePath,
  target: anyPath,
  owner: owner.default('0:0'),
});

const dirSource = z.strictObject({
  kind: z.literal('dir'),
  path: imagePath,
  mode: octalMode.default('0755'),
  owner: owner.default('0:0'),
});

const copySource = z.strictObject({
  kind: z.literal('copy'),
  from: z.string().optional().describe('a stage to copy from (src is then a path inside it); default: the project folder'),
  src: anyPath.describe('path relative to the project folder (or inside the stage); a folder\'s contents go into dest'),
  dest: imagePath,
  owner: owner.optional().describe('override the owner of everything copied (default "0:0")'),
  mode: octalMode.optional().describe('override the mode of every file copied'),
});

const user = z.strictObject({
  name: checked((n) => accountNameProblem(n, 'user')),
  uid: id,
  gid: id.optional().describe('primary group id (default: same as uid)'),
  home: checked(accountPathProblem).optional().describe('absolute path (default /home/NAME)'),
  shell: checked(accountPathProblem).default('/bin/sh'),
  gecos: checked(dbFieldProblem).default(''),
  groups: z.array(checked((n) => accountNameProblem(n, 'group'))).default([]).describe('supplementary groups, by name'),
});

const group = z.strictObject({
  name: checked((n) => accountNameProblem(n, 'group')),
  gid: id,
});

/** Each name once: a second entry of the same name silently replaced the first. */
const uniqueNames = <T extends { name: string }>(items: T[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (seen.has(it.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${it.name}" is declared twice` });
    seen.add(it.name);
  });
};

const usersSource = z.strictObject({
  kind: z.literal('users'),
  users: z.array(user).default([]).superRefine(uniqueNames),
  groups: z.array(group).default([]).superRefine(uniqueNames),
});

/** What a remove source may name: any image path but the root, which cannot be removed (it did nothing, silently). */
const removablePath = checked((p) => imagePathProblem(p) ?? (/^\/+$/.test(p) ? 'the root folder cannot be removed: name what under it to remove' : undefined));

const removeSource = z.strictObject({
  kind: z.literal('remove'),
  paths: z.array(removablePath).min(1),
});

const tarballSource = z.strictObject({
  kind: z.literal('tarball'),
  src: anyPath.describe('a .tar, .tar.gz/.tgz or .tar.xz relative to the project folder'),
  dest: imagePath.default('/'),
});

const imageSource = z.strictObject({
  kind: z.literal('image'),
  ref: checked((t) => {
    const r = parseImageRef(t);
    return typeof r === 'string' ? r : undefined;
  }).describe('the base image: docker://REGISTRY/NAME:TAG, docker-daemon:NAME:TAG, containers-storage:NAME, oci:PATH[:TAG], docker-archive:PATH, or a plain path (relative to the project folder)'),
  digest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, { message: 'expected "sha256:" and 64 lower-case hex digits' })
    .optional()
    .describe("pins the base: its manifest digest (a docker-archive: its config digest, docker's image id); a build refuses any other"),
});

const mirrorUrl = checked((u) => (u === 'auto' ? 'expected an http://, https:// or file:// URL ("auto" stands alone, not in a list)' : mirrorProblem(u)));
/** One archive of a `mirror:` list, e.g. the security archive: {uri: …/debian-security, suite: bookworm-security}. */
const debianArchive = z.strictObject({
  uri: mirrorUrl,
  suite: checked((w) => debianWordProblem(w, 'suite')),
});

const debianSource = z.strictObject({
  kind: z.literal('debian'),
  suite: checked((w) => debianWordProblem(w, 'suite')).default('bookworm'),
  variant: z.enum(['minbase', 'buildd', 'required', 'important', 'standard']).default('minbase'),
  include: z.array(checked(debianPackageProblem)).default([]),
  exclude: z.array(checked(debianPackageProblem)).default([]).describe('packages to leave out: purged after the install even when a dependency pulled them in (debootstrap also gets --exclude)'),
  components: z.array(checked((w) => debianWordProblem(w, 'component'))).min(1).default(['main']),
  mirror: z
    .union([checked(mirrorProblem), z.array(z.union([mirrorUrl, debianArchive])).min(1).max(16)])
    .default('auto')
    .describe('auto: the host\'s apt sources (the suite, its -updates and -security archives); a URL (the suite there alone); or a list of URLs (the suite) and {uri, suite} archives'),
  tool: z.enum(['auto', 'mmdebstrap', 'debootstrap']).default('auto'),
});

const mountSchema = z.union([
  z.strictObject({ stage: z.string(), at: imagePath }),
  z.strictObject({ host: hostPath, at: imagePath }),
]);

const runSource = z.strictObject({
  kind: z.literal('run'),
  command: z.union([argument.min(1), z.array(argument).min(1)]).describe('a shell command (run by /bin/sh -c) or an argv list'),
  env: env.default({}),
  workdir: imagePath.default('/'),
  network: z.boolean().default(false),
  mounts: z.array(mountSchema).default([]).describe('read-only, only while the step runs'),
  keepMountPoint: z.boolean().default(true).describe('leave an empty folder where a mount was (false: nothing)'),
});

export const sourceSchema = z.discriminatedUnion('kind', [
  imageSource,
  debianSource,
  runSource,
  busyboxSource,
  hostSource,
  libsSource,
  fileSource,
  symlinkSource,
  dirSource,
  copySource,
  usersSource,
  removeSource,
  tarballSource,
]);

export const layerSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { message: 'expected a layer name of letters, digits, "_", "." or "-"' }),
  diffbase: z.string().optional().describe('name of the layer this one is diffed against (default: the layer under it)'),
  comment: z.string().optional(),
  sources: z.array(sourceSchema).default([]),
});

export const stageSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { message: 'expected a stage name of letters, digits, "_", "." or "-"' }),
  layers: z.array(layerSchema).min(1),
});

export const imageConfigSchema = z.strictObject({
  entrypoint: z.array(argument).optional(),
  cmd: z.array(argument).optional(),
  env: env.default({}),
  workdir: imagePath.optional(),
  user: checked(configUserProblem).optional(),
  labels: z.record(checked((k) => (k === '' ? 'is empty' : pathProblem(k))), argument).optional(),
  exposedPorts: z.array(checked(portProblem)).optional(),
});

export const recipeSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]*$/, { message: 'expected a lower-case image name' })
      .max(128, { message: 'an image name may be at most 128 characters (it names the output files)' }),
    tag: checked(tagProblem).optional().describe('reference written into the archives (default NAME:latest)'),
    // Tar headers (as tar-stream writes them) and cpio's newc hold a time up to 2^31 - 1 seconds.
    epoch: z
      .number()
      .int()
      .min(0)
      .max(MAX_EPOCH, `at most ${MAX_EPOCH} (2038-01-19T03:14:07Z): later times do not fit the outputs' time fields`)
      .default(0)
      .describe('SOURCE_DATE_EPOCH: every mtime in every output'),
    architecture: z.string().regex(/^[a-z0-9][a-z0-9_]{0,31}$/, { message: 'expected an architecture name such as "amd64" or "arm64"' }).default('amd64'),
    config: imageConfigSchema.default({ env: {} }),
    stages: z.array(stageSchema).default([]).describe('build-only trees: never exported, used by copy from: and run mounts'),
    sbom: z.boolean().default(true).describe('write NAME.cdx.json (CycloneDX 1.6) and NAME.spdx.json (SPDX 2.3) beside the image outputs'),
    sbomInLayout: z
      .boolean()
      .default(false)
      .describe('also list the CycloneDX SBOM in the OCI layout as an artifact whose subject is the image (OCI 1.1); skopeo 1.9 then needs oci:DIR:TAG, not oci:DIR'),
    dpkgStatusD: z
      .boolean()
      .default(true)
      .describe('for host files that belong to Debian packages, add distroless-style /var/lib/dpkg/status.d/NAME and NAME.md5sums entries so scanners see those packages'),
    layers: z.array(layerSchema).min(1, { message: 'a recipe needs at least one layer' }),
  })
  .superRefine((r, ctx) => {
    // Without a tag, the name is the repository of the default reference NAME:latest.
    if (r.tag === undefined && !parseReference(`${r.name}:latest`)) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `"${r.name}:latest" is not a valid image reference (letters and digits joined by single ".", "_" or "-"): rename, or set tag:` });
    }
    const names = new Set<string>();
    r.layers.forEach((layer, i) => {
      if (names.has(layer.name)) {
        ctx.addIssue({ code: 'custom', path: ['layers', i, 'name'], message: `duplicate layer name "${layer.name}"` });
      }
      if (layer.diffbase !== undefined && !names.has(layer.diffbase)) {
        ctx.addIssue({ code: 'custom', path: ['layers', i, 'diffbase'], message: `"${layer.diffbase}" is not a layer below this one` });
      }
      names.add(layer.name);
    });
    r.layers.forEach((layer, i) =>
      layer.sources.forEach((s, j) => {
        if (s.kind !== 'libs' || !s.from) return;
        s.from.forEach((name, k) => {
          if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['layers', i, 'sources', j, 'from', k], message: `no layer named "${name}"` });
        });
      }),
    );
    // A base image is the bottom of a stack: its layers go under everything else.
    const checkImagePlace = (layers: typeof r.layers, base: (string | number)[]) =>
      layers.forEach((layer, i) =>
        layer.sources.forEach((s, j) => {
          if (s.kind === 'image' && (i !== 0 || j !== 0)) ctx.addIssue({ code: 'custom', path: [...base, i, 'sources', j, 'kind'], message: 'an image source must be the first source of the first layer (of the image or of a stage): its layers are the bottom of the stack' });
        }),
      );
    checkImagePlace(r.layers, ['layers']);
    r.stages.forEach((st, i) => checkImagePlace(st.layers, ['stages', i, 'layers']));
    // Stages may use the stages declared before them; layers may use any stage.
    const stages: string[] = [];
    const checkStageRefs = (layers: typeof r.layers, base: (string | number)[], known: string[]) =>
      layers.forEach((layer, i) =>
        layer.sources.forEach((s, j) => {
          const at = [...base, i, 'sources', j];
          if (s.kind === 'copy' && s.from !== undefined && !known.includes(s.from)) ctx.addIssue({ code: 'custom', path: [...at, 'from'], message: `no stage named "${s.from}" before this point` });
          if (s.kind === 'run')
            s.mounts.forEach((m, k) => {
              if ('stage' in m && !known.includes(m.stage)) ctx.addIssue({ code: 'custom', path: [...at, 'mounts', k, 'stage'], message: `no stage named "${m.stage}" before this point` });
            });
        }),
      );
    r.stages.forEach((st, i) => {
      if (stages.includes(st.name)) ctx.addIssue({ code: 'custom', path: ['stages', i, 'name'], message: `duplicate stage name "${st.name}"` });
      checkStageRefs(st.layers, ['stages', i, 'layers'], [...stages]);
      stages.push(st.name);
    });
    checkStageRefs(r.layers, ['layers'], stages);
  });

export type Recipe = z.infer<typeof recipeSchema>;
export type RecipeInput = z.input<typeof recipeSchema>;
export type Layer = z.infer<typeof layerSchema>;
export type Source = z.infer<typeof sourceSchema>;
export type SourceKind = Source['kind'];
export type SourceOf<K extends SourceKind> = Extract<Source, { kind: K }>;
export type ImageConfig = z.infer<typeof imageConfigSchema>;

/** The recipe's `tag`: a reference by the grammar, and no digest (the image's digest is not known before it is built). */
function tagProblem(t: string): string | undefined {
  const bad = referenceProblem(t);
  if (bad) return bad;
  if (parseReference(t)?.digest) return 'a built image cannot be tagged with a digest (@sha256:…): its digest is only known once it is built';
  return undefined;
}

/** The reference the archives carry: `tag` or `NAME:latest`. */
export function imageReference(r: Recipe): { repository: string; tag: string; full: string } {
  const full = r.tag ?? `${r.name}:latest`;
  const slash = full.lastIndexOf('/');
  const colon = full.lastIndexOf(':');
  if (colon > slash) return { repository: full.slice(0, colon), tag: full.slice(colon + 1), full };
  return { repository: full, tag: 'latest', full: `${full}:latest` };
}

/** Octal mode string -> number. */
export function parseMode(mode: string): number {
  return parseInt(mode, 8);
}

export function parseOwner(o: string): { uid: number; gid: number } {
  const [uid, gid] = o.split(':').map(Number);
  return { uid, gid };
}

/** JSON Schema for editors (yaml-language-server and the like). */
export function recipeJsonSchema(): unknown {
  return z.toJSONSchema(recipeSchema, { io: 'input', unrepresentable: 'any' });
}
