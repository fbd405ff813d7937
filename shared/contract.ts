// The one API between the window and the engine. Every message that crosses a
// process boundary (Electron IPC or the browser-mode WebSocket) is checked
// against these schemas; the TypeScript types come from them too.
import { z } from 'zod';
import { configUserProblem, envNameProblem, imagePathProblem, probeCommandProblem, publishProblem } from './grammar';

/** A string checked by one of grammar.ts's checks. */
function checked(check: (s: string) => string | undefined) {
  return z.string().superRefine((s, ctx) => {
    const problem = check(s);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

export const CHANNEL = 'scratchyard';

/** Bytes one project.addFiles may carry (decoded): desktop drops in browser mode. */
export const ADD_FILES_MAX = 32 << 20;

const layerRef = z.string().nullable().describe('a layer name, or null for the merged image');

/** The ways to run an image (issue 5): a rootless chroot, a qemu VM, docker. */
export const runnerName = z.enum(['chroot', 'vm', 'docker', 'podman']);
export type RunnerId = z.infer<typeof runnerName>;

/**
 * One side of a comparison: the project's current or previous build, an image
 * file or folder (docker-archive, docker/podman save, OCI layout or its tar),
 * or the filesystem as it stands after one layer of what is shown now.
 */
export const compareSide = z.union([
  z.strictObject({ build: z.enum(['current', 'previous']) }),
  z.strictObject({ image: z.string().min(1) }),
  z.strictObject({ layer: z.string().min(1) }),
]);
export type CompareSide = z.infer<typeof compareSide>;

/** An absolute host path with no NUL, as typed or pasted into the file browser; the message names it. */
const hostFolder = z.string().max(4096).superRefine((p, ctx) => {
  const shown = JSON.stringify(p.slice(0, 200));
  if (p.includes('\0')) ctx.addIssue({ code: 'custom', message: `${shown} contains a NUL byte` });
  else if (!p.startsWith('/')) ctx.addIssue({ code: 'custom', message: `${shown} is relative: give an absolute path (starting with /)` });
});

/** Entries one files.list sends at most; the rest are counted. */
export const FILES_LIST_MAX = 5000;

/** A folder entry: folders (and links to folders) can be entered; `mark` says what a folder holds (a project, an OCI layout). */
export const fileEntry = z.object({
  name: z.string(),
  kind: z.enum(['dir', 'file', 'symlink-dir', 'other']),
  /** Files: bytes (of the target, for a link). */
  size: z.number().optional(),
  /** A symbolic link (to a file, or to a folder: kind symlink-dir). */
  link: z.boolean().optional(),
  mark: z.enum(['project', 'oci']).optional(),
});
export type FileEntry = z.infer<typeof fileEntry>;

const savePath = z.string().min(1).optional().describe('a folder (the file keeps its name) or a file path; default ~/Desktop, else ~/Downloads, else home');

/** A run-flag value: no NUL, no line break, bounded. */
const flagValue = z.string().max(4096).superRefine((v, ctx) => {
  if (/[\0\n\r]/.test(v)) ctx.addIssue({ code: 'custom', message: 'contains a NUL or a line break' });
});

/** docker run's flags for a run (the CLI's --entrypoint, -e, --user, --workdir, --network, --timeout). */
export const runFlagsSchema = z.strictObject({
  entrypoint: flagValue.optional(),
  env: z.record(z.string(), flagValue).superRefine((env, ctx) => {
    for (const k of Object.keys(env)) {
      const p = envNameProblem(k);
      if (p) ctx.addIssue({ code: 'custom', path: [k], message: p });
    }
  }).optional(),
  user: checked(configUserProblem).optional(),
  workdir: checked(imagePathProblem).optional(),
  network: z.enum(['none', 'host']).optional(),
  timeoutS: z.number().positive().max(7 * 86400).optional(),
  /** -p HOST:CONTAINER, published on 127.0.0.1 (docker, podman). */
  ports: z.array(checked(publishProblem)).max(64).optional(),
  /** A service test-run: this host command beside the service, in its network, until it succeeds or timeoutS passes. */
  probe: z.strictObject({ command: checked(probeCommandProblem), timeoutS: z.number().positive().max(3600).optional() }).optional(),
}).superRefine((f, ctx) => {
  if (f.ports?.length && f.network !== undefined) ctx.addIssue({ code: 'custom', path: ['ports'], message: `-p publishes through a private network: it cannot go with network ${f.network}` });
});
export type RunFlagsRequest = z.infer<typeof runFlagsSchema>;

/** What became of a blob in a push (or a fetch): sent, mounted from another repository, already there, fetched; copied when skopeo did not say. */
const pushStatus = z.enum(['uploaded', 'mounted', 'skipped', 'downloaded', 'copied']);

export const requestSchema = z.discriminatedUnion('cmd', [
  z.strictObject({ cmd: z.literal('project.open'), path: z.string().optional() }),
  z.strictObject({ cmd: z.literal('project.new'), path: z.string().min(1) }),
  z.strictObject({ cmd: z.literal('project.validate'), text: z.string() }),
  z.strictObject({ cmd: z.literal('project.save'), text: z.string() }),
  z.strictObject({ cmd: z.literal('build.start') }),
  z.strictObject({ cmd: z.literal('build.cancel') }),
  z.strictObject({
    cmd: z.literal('tree.page'),
    layer: layerRef,
    dir: z.string(),
    offset: z.number().int().min(0),
    limit: z.number().int().min(1).max(5000),
    /** Filtered (issue 15): the rows are the whole pruned tree under `dir`, folder before contents, each with its depth. */
    filter: z.strictObject({ pattern: z.string().max(1024), changesOnly: z.boolean().optional() }).optional(),
  }),
  z.strictObject({ cmd: z.literal('file.read'), layer: layerRef, path: z.string(), max: z.number().int().min(1).max(1 << 20) }),
  z.strictObject({ cmd: z.literal('filelist.get'), layer: layerRef }),
  z.strictObject({ cmd: z.literal('diff.layer'), layer: z.string() }),
  z.strictObject({ cmd: z.literal('run.start'), runner: runnerName, args: z.array(z.string()).default([]), flags: runFlagsSchema.optional(), cols: z.number().int().min(1), rows: z.number().int().min(1) }),
  z.strictObject({ cmd: z.literal('shell.start'), cols: z.number().int().min(1), rows: z.number().int().min(1), runner: z.enum(['chroot', 'vm']).optional() }),
  z.strictObject({
    cmd: z.literal('runs.compare'),
    runners: z.array(runnerName).min(1).max(4),
    args: z.array(z.string()).default([]),
    flags: runFlagsSchema.optional(),
    /** A name the window picks for this comparison: with it, each runner's start and end come as run.runner events under that name. */
    run: z.string().min(1).max(64).optional(),
  }),
  z.strictObject({ cmd: z.literal('term.write'), id: z.string(), data: z.string().max(1 << 16) }),
  z.strictObject({ cmd: z.literal('term.resize'), id: z.string(), cols: z.number().int().min(1), rows: z.number().int().min(1) }),
  z.strictObject({ cmd: z.literal('term.close'), id: z.string() }),
  z.strictObject({ cmd: z.literal('doctor') }),
  z.strictObject({
    cmd: z.literal('project.addFiles'),
    files: z
      .array(z.strictObject({ path: z.string().min(1).max(4096).describe('relative, "/"-separated; its first part names the dropped file or folder'), base64: z.string().max(ADD_FILES_MAX * 2) }))
      .min(1)
      .max(10_000),
  }),
  z.strictObject({ cmd: z.literal('image.open'), path: z.string().min(1) }),
  z.strictObject({ cmd: z.literal('image.inspect') }),
  z.strictObject({ cmd: z.literal('image.sizeMap'), layer: layerRef, dir: z.string().min(1), depth: z.number().int().min(1).max(8) }),
  z.strictObject({ cmd: z.literal('image.largest'), layer: layerRef, n: z.number().int().min(1).max(1000) }),
  z.strictObject({ cmd: z.literal('image.compare'), a: compareSide, b: compareSide, fileList: z.boolean().optional().describe('also the diff of the two checksummed file lists, as `scratchyard diff A B` prints it') }),
  z.strictObject({ cmd: z.literal('image.saveFile'), layer: layerRef, path: z.string().min(1), to: savePath }),
  z.strictObject({ cmd: z.literal('image.exportLayer'), layer: z.string().min(1), to: savePath }),
  z.strictObject({ cmd: z.literal('project.fromImage'), image: z.string().min(1), dir: z.string().min(1) }),
  /** Trace a host source's `trace:` commands now (even when their lists are current), as saved in the recipe. */
  z.strictObject({ cmd: z.literal('trace.run'), layer: z.number().int().min(0), source: z.number().int().min(0) }),
  z.strictObject({
    cmd: z.literal('image.push'),
    dest: z.string().min(1).max(1024).optional().describe('docker://REGISTRY/NAME:TAG; default: the last one this project pushed to, else docker:// + the recipe\'s tag'),
    tlsVerify: z.boolean().optional(),
    creds: z.string().max(1024).optional().describe('USER:PASSWORD; never remembered'),
    authfile: z.string().max(4096).optional(),
  }),
  z.strictObject({ cmd: z.literal('image.pushDestination') }),
  /** The local docker and podman images, for Open image…. */
  z.strictObject({ cmd: z.literal('images.local') }),
  /** The Debian packages of the last build (or the opened image), and the lock's state. */
  z.strictObject({ cmd: z.literal('packages.list') }),
  /** The project's builds, newest first. */
  z.strictObject({ cmd: z.literal('build.history') }),
  /** Recent projects and images (the start screen). */
  z.strictObject({ cmd: z.literal('recent.list') }),
  /** A folder of the host, listed for the file browser (browser mode's Open…): names, kinds and sizes, never contents. */
  z.strictObject({ cmd: z.literal('files.list'), dir: hostFolder.optional().describe('absolute; default: the project\'s folder'), hidden: z.boolean().optional().describe('list dot-files too') }),
]);
export type Request = z.input<typeof requestSchema>;
export type Cmd = Request['cmd'];

/** A request on the wire: an id to match the reply. */
export const requestEnvelope = z.strictObject({ id: z.number().int(), request: z.unknown() });

export const packageRow = z.object({
  name: z.string(),
  version: z.string(),
  architecture: z.string(),
  /** The layer holding its dpkg record (or, for a host source, its first file): index from 0, and its name. */
  layer: z.number().int().optional(),
  layerName: z.string().optional(),
  /** Bytes: dpkg's Installed-Size, or for a host source the sum of its files in the image. */
  size: z.number().optional(),
  licenses: z.array(z.string()),
  /** The recipe source that brought it, e.g. "layers[1].sources[0] (host)". */
  brought: z.string().optional(),
  foundIn: z.enum(['dpkg-status', 'status.d', 'host-dpkg']),
});
export type PackageRow = z.infer<typeof packageRow>;

export const lockStateSchema = z.object({
  /** unchecked: scratchyard.lock is there, and no build this window (or kept in the history) compared it. */
  state: z.enum(['locked', 'drifted', 'none', 'unchecked']),
  file: z.string().max(4096).optional(),
  /** What changed since the lock, one line each ("/usr/bin/curl: curl 8.x+deb12u14 → +deb12u15"). */
  drift: z.array(z.string().max(4096)).max(10_000),
});
export type LockState = z.infer<typeof lockStateSchema>;

export const problemSchema = z.object({ file: z.string(), line: z.number(), column: z.number(), field: z.string(), message: z.string() });
export type Problem = z.infer<typeof problemSchema>;

export const sourceSummary = z.object({ kind: z.string() });
export const projectInfo = z.object({
  dir: z.string(),
  file: z.string(),
  text: z.string(),
  name: z.string().nullable(),
  layers: z.array(z.object({ name: z.string(), sources: z.array(sourceSummary) })),
  problems: z.array(problemSchema),
  /** An opened image (issue 6): nothing to build or edit; `image` is its path. */
  readOnly: z.boolean().optional(),
  image: z.string().optional(),
  /** The project's last build, shown at once on open (from the history and out/, nothing rebuilt). */
  get lastBuild() {
    return buildReply.optional();
  },
});
export type ProjectInfo = z.infer<typeof projectInfo>;

export const treeRow = z.object({
  path: z.string(),
  name: z.string(),
  type: z.enum(['file', 'dir', 'symlink', 'char', 'block', 'fifo']),
  mode: z.number(),
  uid: z.number(),
  gid: z.number(),
  /** Files: their size; folders: everything under them. */
  size: z.number(),
  target: z.string().optional(),
  /** The layer that last wrote this entry. */
  layer: z.string(),
  children: z.number(),
  /** In a layer view: what the layer does to the entry. */
  change: z.enum(['added', 'modified', 'removed', 'unchanged']).optional(),
  /** In a filtered page: 1 for the children of the folder asked; and whether the entry itself matched. */
  depth: z.number().int().optional(),
  match: z.boolean().optional(),
});
export type TreeRow = z.infer<typeof treeRow>;

export const elfSummary = z.object({
  elfClass: z.number(),
  interp: z.string().optional(),
  needed: z.array(z.object({ name: z.string(), path: z.string().optional(), layer: z.string().optional() })),
});

const layerSummary = z.object({ name: z.string(), digest: z.string(), size: z.number(), files: z.number(), cached: z.boolean(), label: z.string().optional().describe('what a person reads: the recipe layer and its sources, or the cleaned command that made an image layer') });

/** The most nodes a drawn build graph carries; a larger plan is sent without its graph (progress still counts it). */
export const PLAN_MAX_NODES = 2000;
/** One node of the build graph: sources → layers → the image → outputs; `deps` are the ids of the nodes it reads. */
const planNode = z.object({
  id: z.string().max(1024),
  label: z.string().max(1024),
  kind: z.enum(['stage', 'source', 'layer', 'image', 'export', 'sbom']),
  deps: z.array(z.string().max(1024)).max(PLAN_MAX_NODES),
});
export type PlanNode = z.infer<typeof planNode>;

/**
 * One build as the project's history keeps it (in the cache folder, read back
 * through this schema: the cache's files are untrusted).
 */
export const buildRecord = z.strictObject({
  /** When it ended, ms since the epoch. */
  at: z.number().int().nonnegative(),
  ms: z.number().nonnegative(),
  ok: z.boolean(),
  error: z.string().max(4000).optional(),
  manifestDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional(),
  layers: z.array(z.strictObject({ name: z.string().max(256), label: z.string().max(1024).optional(), digest: z.string().max(80), size: z.number().nonnegative(), files: z.number().int().nonnegative(), cached: z.boolean() })).max(1000),
  /** Bytes of the layers' tars. */
  size: z.number().nonnegative(),
  cacheHits: z.number().int().nonnegative(),
  /** Written outputs by format (docker, oci, rootfs, initrd): absolute paths. */
  outputs: z.record(z.string().max(16), z.string().max(4096)),
  /** The build's graph and each node's end state, so a restored build draws as it ran (kept on the newest records only). */
  graph: z.array(planNode).max(PLAN_MAX_NODES).optional(),
  nodes: z.array(z.strictObject({ id: z.string().max(1024), label: z.string().max(1024), state: z.enum(['cached', 'done', 'failed']), ms: z.number().nonnegative().optional() })).max(PLAN_MAX_NODES * 4).optional(),
  /** What the build found against scratchyard.lock, so a restored build says it too. */
  lock: lockStateSchema.optional(),
});
export type BuildRecord = z.infer<typeof buildRecord>;

const buildReply = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  manifestDigest: z.string().optional(),
  layers: z.array(layerSummary),
  /** The build as its history keeps it (time, duration, size, outputs). */
  record: buildRecord.optional(),
  /** Read back from the history and out/, not built by this session. */
  restored: z.boolean().optional(),
  /** What this build found against scratchyard.lock. */
  lock: lockStateSchema.optional(),
});
export type BuildReply = z.infer<typeof buildReply>;

/** A block of the size map: a folder (with children, down to the depth asked) or a file. */
export interface SizeNode {
  name: string;
  path: string;
  bytes: number;
  /** Index (bottom 0) of the layer that last wrote it, for colouring. */
  layer?: number;
  /** Folders only; absent below the depth asked. Folded small entries come as one node named "… N more". */
  children?: SizeNode[];
  /** How many entries a folded node stands for. */
  folded?: number;
  /** A folder (zoomable even when its children were not sent). */
  dir?: boolean;
}
export const sizeNode: z.ZodType<SizeNode> = z.lazy(() =>
  z.object({ name: z.string(), path: z.string(), bytes: z.number(), layer: z.number().int().optional(), children: z.array(sizeNode).optional(), folded: z.number().int().optional(), dir: z.boolean().optional() }),
);

const countBytes = z.object({ count: z.number(), bytes: z.number() });

/** An image of the local docker engine or podman's store, with the reference it opens by. */
export const localImage = z.object({
  engine: z.enum(['docker', 'podman']),
  name: z.string(),
  tag: z.string().optional(),
  id: z.string(),
  size: z.number(),
  created: z.string().optional().describe('ISO 8601'),
  ref: z.string().describe('docker-daemon:NAME:TAG or containers-storage:NAME:TAG (by id when untagged): what image.open takes'),
});
export type LocalImageRow = z.infer<typeof localImage>;

export const imageAnalysis = z.object({
  /** What was analysed: the opened image's path or the project's name. */
  subject: z.string(),
  layers: z.array(z.object({ index: z.number(), name: z.string(), digest: z.string(), bytes: z.number(), files: z.number(), command: z.string().optional(), label: z.string().optional() })),
  /** Bytes of file content stored in all layers, and what the final filesystem shows. */
  stored: z.number(),
  final: z.number(),
  files: z.number(),
  wasted: z.object({
    bytes: z.number(),
    paths: z.array(z.object({ path: z.string(), bytes: z.number(), storedIn: z.string(), hiddenBy: z.string(), how: z.enum(['overwritten', 'removed']) })),
    /** More wasteful paths than sent (the largest are sent). */
    more: z.number(),
  }),
  efficiency: z.number(),
  dive: z.object({ wastedBytes: z.number(), efficiency: z.number(), userWastedPercent: z.number() }),
});
export type ImageAnalysis = z.infer<typeof imageAnalysis>;

/** What one runner gave in a comparison (before the comparison marks whether it matches the others). */
export const runOutcome = z.object({
  runner: runnerName,
  code: z.number().optional(),
  /** The program's own time (the runner's preparing not included). */
  ms: z.number().optional(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  accel: z.string().optional(),
  timedOut: z.boolean().optional(),
  error: z.string().optional(),
  skipped: z.boolean().optional(),
  /** With a probe: code and stdout are the probe's; serviceCode is the stopped service's. */
  probe: z.object({ code: z.number(), attempts: z.number(), timedOut: z.boolean(), error: z.string().optional(), serviceCode: z.number() }).optional(),
});
/** A row of the runners' table: exit code and stdout equal to what most runners gave? */
export const runRow = runOutcome.extend({ matches: z.boolean() });
export type RunRowReply = z.infer<typeof runRow>;

export const responses = {
  'project.open': projectInfo,
  'project.new': projectInfo,
  'project.validate': z.object({ problems: z.array(problemSchema) }),
  'project.save': projectInfo,
  'build.start': buildReply,
  'build.cancel': z.object({ cancelled: z.boolean() }),
  'tree.page': z.object({ rows: z.array(treeRow), total: z.number(), matches: z.number().optional().describe('filtered: entries that matched') }),
  'file.read': z.object({ size: z.number(), base64: z.string(), truncated: z.boolean(), elf: elfSummary.optional() }),
  'filelist.get': z.object({ lines: z.array(z.string()) }),
  'diff.layer': z.object({
    added: z.object({ count: z.number(), bytes: z.number() }),
    modified: z.object({ count: z.number(), bytes: z.number() }),
    removed: z.object({ count: z.number(), bytes: z.number() }),
    paths: z.array(z.object({ path: z.string(), change: z.enum(['added', 'modified', 'removed']), size: z.number() })),
  }),
  'run.start': z.object({ id: z.string() }),
  'shell.start': z.object({ id: z.string() }),
  'runs.compare': z.object({ agree: z.boolean(), rows: z.array(runRow) }),
  'term.write': z.object({}),
  'term.resize': z.object({}),
  'term.close': z.object({}),
  doctor: z.object({
    tools: z.array(z.object({ command: z.string(), path: z.string().optional(), version: z.string().optional(), debianPackage: z.string(), purpose: z.string() })),
    userNamespaces: z.object({ ok: z.boolean(), detail: z.string() }),
    kvm: z.object({ present: z.boolean(), usable: z.boolean(), detail: z.string() }),
    kernel: z.object({ path: z.string().optional(), detail: z.string() }).optional(),
  }),
  'project.addFiles': z.object({ added: z.array(z.object({ from: z.string(), to: z.string() })) }),
  /** The image as a read-only project, and its layers as a build would list them. */
  'image.open': projectInfo.extend({ readOnly: z.literal(true), image: z.string(), build: buildReply }),
  'image.inspect': imageAnalysis,
  'image.sizeMap': z.object({ root: sizeNode, layers: z.array(z.string()) }),
  'image.largest': z.object({
    files: z.array(z.object({ path: z.string(), bytes: z.number(), layer: z.string().optional() })),
    dirs: z.array(z.object({ path: z.string(), bytes: z.number() })),
  }),
  'image.compare': z.object({
    a: z.string(),
    b: z.string(),
    added: countBytes,
    removed: countBytes,
    changed: countBytes,
    paths: z.array(
      z.object({ path: z.string(), change: z.enum(['added', 'removed', 'changed']), type: z.enum(['file', 'dir', 'symlink', 'char', 'block', 'fifo']), before: z.number().optional(), after: z.number().optional() }),
    ),
    /** More changed paths than sent. */
    more: z.number(),
    /** With `fileList`: "--- A", "+++ B", then -/+ file-list lines (cut at 4 MiB). */
    fileListDiff: z.string().optional(),
  }),
  'image.saveFile': z.object({ path: z.string(), bytes: z.number() }),
  'image.exportLayer': z.object({ path: z.string(), bytes: z.number(), digest: z.string() }),
  'project.fromImage': projectInfo,
  'trace.run': z.object({
    commands: z.array(
      z.object({
        argv: z.array(z.string()),
        /** The list file written, relative to the project folder. */
        list: z.string(),
        kept: z.array(z.object({ path: z.string(), type: z.enum(['file', 'symlink']), bytes: z.number(), target: z.string().optional() })),
        dropped: z.array(z.object({ path: z.string(), reason: z.string() })),
        bytes: z.number(),
      }),
    ),
    /** Bytes of the kept files of all commands, each file once. */
    bytes: z.number(),
  }),
  'image.push': z.object({
    destination: z.string(),
    /** The manifest digest the registry holds: the built one. */
    manifestDigest: z.string(),
    blobs: z.array(z.object({ digest: z.string(), role: z.enum(['layer', 'config']), status: pushStatus })),
  }),
  'image.pushDestination': z.object({ dest: z.string() }),
  'images.local': z.object({
    images: z.array(localImage),
    /** One line per engine that gave no list (not installed, not reachable). */
    notes: z.array(z.object({ engine: z.enum(['docker', 'podman']), reason: z.string() })),
  }),
  'packages.list': z.object({
    /** What the rows describe: the project's last build, an opened image, or nothing yet. */
    of: z.enum(['build', 'image', 'none']),
    packages: z.array(packageRow),
    lock: lockStateSchema,
  }),
  'build.history': z.object({ records: z.array(buildRecord) }),
  'recent.list': z.object({
    projects: z.array(z.object({ path: z.string(), name: z.string(), at: z.number() })),
    images: z.array(z.object({ path: z.string(), at: z.number() })),
  }),
  'files.list': z.object({
    /** The folder listed, absolute and resolved; its parent (null at /). */
    dir: z.string(),
    parent: z.string().nullable(),
    /** Folders first, then files, each by name. */
    entries: z.array(fileEntry),
    /** Entries not sent (past FILES_LIST_MAX). */
    more: z.number().int().nonnegative(),
    /** Dot-files left out (when `hidden` was not asked). */
    hiddenCount: z.number().int().nonnegative(),
    /** Where to start: home, the project's folder, recent folders. */
    places: z.array(z.object({ kind: z.enum(['home', 'project', 'recent']), label: z.string(), path: z.string() })),
  }),
} satisfies Record<Cmd, z.ZodType>;
export type Response<C extends Cmd> = z.infer<(typeof responses)[C]>;

/** Podman Desktop's envelope: every reply is {result} or {error}. */
export type Answer = { result: unknown } | { error: { message: string } };
export type Reply = Answer & { id: number };


export const eventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('build.plan'), nodes: z.number().int().nonnegative(), graph: z.array(planNode).max(PLAN_MAX_NODES) }),
  z.object({ event: z.literal('build.node'), id: z.string(), label: z.string(), state: z.enum(['running', 'cached', 'done', 'failed']), ms: z.number().optional(), detail: z.string().optional(), progress: z.number().min(0).max(1).optional() }),
  z.object({ event: z.literal('log'), line: z.string() }),
  /** A build the window did not start (a run, shell or comparison built the image first) ended: the window shows it as its own. */
  z.object({ event: z.literal('build.done'), reply: buildReply }),
  /** A push's progress, per blob: started (copying), then what became of it. */
  z.object({ event: z.literal('push.blob'), digest: z.string(), status: z.union([z.literal('copying'), pushStatus]) }),
  /** Something a host source brought that the recipe may not mean to (a dangling link, a private key…): the build still succeeds. */
  z.object({
    event: z.literal('build.warning'),
    kind: z.enum(['dangling-symlink', 'outside-listed-path', 'private-key', 'local-ca', 'credentials']),
    image: z.string(),
    host: z.string(),
    reason: z.string(),
    field: z.string(),
  }),
  /**
   * A runner of a runs.compare that named its `run`: it started its program (the
   * image readied for it), or it ended (ran, skipped, failed). elapsedMs: from the
   * comparison's start to this runner's end, preparing included.
   */
  z.discriminatedUnion('state', [
    z.object({ event: z.literal('run.runner'), run: z.string(), runner: runnerName, state: z.literal('running') }),
    z.object({ event: z.literal('run.runner'), run: z.string(), runner: runnerName, state: z.literal('ended'), elapsedMs: z.number().nonnegative(), row: runOutcome }),
  ]),
  z.object({ event: z.literal('term.data'), id: z.string(), data: z.string() }),
  z.object({ event: z.literal('term.exit'), id: z.string(), code: z.number(), ms: z.number() }),
]);
export type EngineEvent = z.infer<typeof eventSchema>;

/** Electron's native open dialog (the preload's pickPath), asked over its own channel and checked like every request. */
export const PICK_CHANNEL = 'scratchyard:pick';
export const pickRequestSchema = z.strictObject({
  title: z.string().max(200),
  /** A folder, or a file (an image also may be an OCI layout folder: `folders` lets either be picked). */
  kind: z.enum(['folder', 'file']),
  folders: z.boolean().optional(),
  defaultPath: hostFolder.optional(),
  filters: z.array(z.strictObject({ name: z.string().max(100), extensions: z.array(z.string().regex(/^[\w*.-]{1,20}$/)).max(20) })).max(10).optional(),
  /** New…: a folder that does not exist yet may be named (it is made). */
  create: z.boolean().optional(),
});
export type PickRequest = z.infer<typeof pickRequestSchema>;

/** The window's link to the engine: a preload bridge is always connected; a socket can be lost and reconnected. */
export type Connection = { state: 'connecting' } | { state: 'connected' } | { state: 'lost'; reason: string };

/** What the preload exposes and the browser client implements: the same interface. */
export interface EngineApi {
  request<C extends Cmd>(req: Extract<Request, { cmd: C }>): Promise<Response<C>>;
  onEvent(listener: (e: EngineEvent) => void): () => void;
  /** Called at once with the current state, then on every change (absent: always connected). */
  onConnection?(listener: (c: Connection) => void): () => void;
  /** Try the engine again after it was lost. */
  reconnect?(): void;
  /** Electron only: the native open dialog; the path picked, or null when cancelled. Browser mode uses the file browser. */
  pickPath?(req: PickRequest): Promise<string | null>;
}
