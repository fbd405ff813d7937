#!/usr/bin/env node
// Benchmarks: each figure beside a reference measured in the same run on the
// same machine, and their ratio. Not asserted anywhere; recorded in
// docs/benchmarks.md.
//
//   node bench/run.mjs            all
//   node bench/run.mjs example    cold build and no-op rebuild of the bundled example
//   node bench/run.mjs startup    --help and the hello no-op rebuild against node -e "" (wall and CPU), the code cache's effect
//   node bench/run.mjs debian     a Debian-sized rootfs tarball imported as one layer
//   node bench/run.mjs scale      the explorer's engine side on 100,000 entries
//   node bench/run.mjs debian-node  the debian source against mmdebstrap alone, edits above it, basebox's size
//                                   (SCRATCHYARD_BENCH_MMDEBSTRAP_ONLY=1: the mmdebstrap rows alone)
//   node bench/run.mjs chroot-config  the chroot runner applying a config (user, workdir) to a cached image
//   node bench/run.mjs runners    hello run by each runner against the bare command (unshare, qemu, docker run)
//   node bench/run.mjs inspect    scratchyard inspect of a docker-made Debian-sized image against tar -t
//   node bench/run.mjs inspect-scale  inspect of 100k, 400k and 1M entries: time per entry and peak memory against tar -tv
//   node bench/run.mjs shared-cache  the Debian example built from a warm registry (--cache-from) against mmdebstrap alone
//   node bench/run.mjs sbom       the SBOM step's share of warm rebuilds of a Debian-sized image with host files
//   node bench/run.mjs import-scale  tarball imports of ~0.17, 0.7 and 2.7 GB: time per GB and peak memory against tar | openssl dgst
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// SCRATCHYARD_BENCH_CLI: another bundle's entry (an older commit's dist/cli.mjs) to compare.
const CLI = process.env.SCRATCHYARD_BENCH_CLI ?? path.join(ROOT, 'dist/cli.mjs');
const MAXRSS = path.join(ROOT, 'bench/maxrss.mjs');
const DOCKER = '/usr/bin/docker';
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function time(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r;
}

function row(name, ms, refName, refMs, target) {
  const ratio = ms / refMs;
  console.log(`${name.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms   ref ${refName}: ${refMs.toFixed(0)} ms   ratio ${ratio.toFixed(2)}${target ? `   target ${target}` : ''}`);
}

/** Wall and CPU (user + sys, from time(1)) milliseconds of one child: CPU stays meaningful on a busy machine. */
function measure(cmd, args, opts = {}) {
  const out = path.join(os.tmpdir(), `sy-bench-time-${process.pid}`);
  const ms = time(() => run('/usr/bin/time', ['-q', '-o', out, '-f', '%U %S', cmd, ...args], opts));
  const [u, s] = readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  rmSync(out, { force: true });
  return { ms, cpu: (u + s) * 1000 };
}

/** Samples of several commands taken in turn (so load drifts hit them alike); medians of wall and CPU. */
function interleaved(n, cases) {
  const got = cases.map(() => []);
  for (let i = 0; i < n; i++) cases.forEach((c, j) => got[j].push(measure(...c)));
  return got.map((xs) => ({ ms: median(xs.map((x) => x.ms)), cpu: median(xs.map((x) => x.cpu)) }));
}

function rowCpu(name, ours, refName, ref, target) {
  console.log(
    `${name.padEnd(44)} ${ours.ms.toFixed(0).padStart(7)} ms (cpu ${ours.cpu.toFixed(0)})   ref ${refName}: ${ref.ms.toFixed(0)} ms (cpu ${ref.cpu.toFixed(0)})   ratio ${(ours.ms / ref.ms).toFixed(2)} (cpu ${ref.cpu > 0 ? (ours.cpu / ref.cpu).toFixed(2) : 'n/a'})${target ? `   target ${target}` : ''}`,
  );
}

/**
 * Issue 17, point 2: a whole CLI process against node itself. --help loads
 * only the small entry; a no-op rebuild is answered from its no-op stamp
 * (electron/cli/stamp.ts) without the engine once one no-op has run past the
 * stamp's racy window; without the stamp it loads the engine bundle through
 * its V8 code cache (kept in the cache folder), measured with the cache and
 * with it removed before every run.
 */
function benchStartup(work) {
  const example = path.join(ROOT, 'assets/examples/hello');
  const cache = path.join(work, 'startup-cache');
  const out = path.join(work, 'startup-out');
  const noop = [process.execPath, [CLI, 'build', example, '--cache', cache, '--out', out]];
  /** Build, let the racy window pass, and run the no-op that writes the stamp. */
  const warm = (cmd) => {
    run(...cmd);
    run('sleep', ['2.2']);
    run(...cmd);
  };
  warm(noop);
  const N = 11;
  const [bare, help, rebuild] = interleaved(N, [[process.execPath, ['-e', '']], [process.execPath, [CLI, '--help']], noop]);
  const withoutStamp = (extra) => ['sh', ['-c', `rm -rf ${cache}/stamps/* ${extra} && exec "$0" "$@"`, noop[0], ...noop[1]]];
  const [bare1, engine] = interleaved(N, [[process.execPath, ['-e', '']], withoutStamp('')]);
  const cold = interleaved(5, [[process.execPath, ['-e', '']], withoutStamp(`${cache}/v8`)])[1];
  // Inline sources only: no host files, so no look-ups in the host's dpkg database (which dominate hello's rebuild).
  const inline = path.join(work, 'inline');
  mkdirSync(inline);
  writeFileSync(path.join(inline, 'scratchyard.yaml'), 'name: inline\nlayers:\n  - name: app\n    sources:\n      - kind: file\n        path: /hello\n        content: "hi\\n"\n');
  const inlineNoop = [process.execPath, [CLI, 'build', inline, '--cache', cache, '--out', out]];
  warm(inlineNoop);
  const [bare2, inlineRebuild] = interleaved(N, [[process.execPath, ['-e', '']], inlineNoop]);
  console.log(`\n## startup: whole CLI processes against node -e "", interleaved, median of ${N} (${load()})`);
  rowCpu('scratchyard --help', help, 'node -e ""', bare, '≤ 1.3×');
  rowCpu('hello no-op rebuild', rebuild, 'node -e ""', bare, '≤ 2×');
  rowCpu('hello no-op rebuild, engine (no stamp)', engine, 'node -e ""', bare1);
  rowCpu('hello no-op rebuild, engine, no code cache', cold, 'node -e ""', bare);
  rowCpu('no-op rebuild, inline sources only', inlineRebuild, 'node -e ""', bare2, '≤ 2×');
}

function benchExample(work) {
  const example = path.join(ROOT, 'assets/examples/hello');
  const out = path.join(work, 'out');
  const N = 7;
  const bare = median(Array.from({ length: N }, () => time(() => run(process.execPath, ['-e', '']))));
  const cold = median(
    Array.from({ length: N }, (_, i) => {
      const cache = path.join(work, `cold-${i}`);
      const ms = time(() => run(process.execPath, [CLI, 'build', example, '--cache', cache, '--out', path.join(out, String(i))]));
      rmSync(cache, { recursive: true, force: true });
      return ms;
    }),
  );
  const cache = path.join(work, 'warm');
  run(process.execPath, [CLI, 'build', example, '--cache', cache, '--out', out]);
  // Past the no-op stamp's racy window, one no-op writes the stamp the measured ones use.
  run('sleep', ['2.2']);
  run(process.execPath, [CLI, 'build', example, '--cache', cache, '--out', out]);
  const noop = median(Array.from({ length: N }, () => time(() => run(process.execPath, [CLI, 'build', example, '--cache', cache, '--out', out]))));
  console.log(`\n## example (hello), whole CLI processes, median of ${N}`);
  row('cold build (empty cache, 3 formats)', cold, 'node -e ""', bare, '≤ 300 ms');
  row('no-op rebuild', noop, 'node -e ""', bare, '≤ 2×');
}

/** A Debian minbase rootfs tarball made once by mmdebstrap, from the host's apt mirror. */
function minbaseTarball() {
  const dir = path.join(os.tmpdir(), 'scratchyard-bench');
  const tar = path.join(dir, 'minbase.tar');
  if (existsSync(tar)) return tar;
  mkdirSync(dir, { recursive: true });
  console.error('making a Debian minbase tarball with mmdebstrap (once)…');
  const mirror = hostMirror();
  run('mmdebstrap', ['--variant=minbase', '--mode=root', '--format=tar', 'bookworm', tar, mirror], { stdio: ['ignore', 'ignore', 'inherit'] });
  return tar;
}

function hostMirror() {
  const text = run('sh', ['-c', 'cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true']).stdout;
  const m = /^URIs:\s*(\S+)/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(text);
  if (!m) throw new Error('no apt mirror found in /etc/apt');
  return m[1];
}

/** sources.list lines for the suite, SUITE-updates and SUITE-security as the host's apt sources offer them (what `mirror: auto` reads). */
function hostArchiveLines(suite) {
  const text = run('sh', ['-c', 'cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true']).stdout;
  const lines = [];
  for (const name of [suite, `${suite}-updates`, `${suite}-security`]) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (f) => new RegExp(`^${f}:\\s*(.*)$`, 'mi').exec(stanza)?.[1].trim().split(/\s+/) ?? [];
      if (field('Types').includes('deb') && field('Suites').includes(name)) {
        lines.push(`deb ${field('URIs')[0]} ${name} main`);
        break;
      }
    }
  }
  return lines.length ? lines : [`deb ${hostMirror()} ${suite} main`];
}

function benchDebian(work) {
  if (!which('mmdebstrap')) return console.log('\n## debian: skipped (apt-get install mmdebstrap)');
  const tar = minbaseTarball();
  const project = path.join(work, 'debian');
  mkdirSync(project, { recursive: true });
  // A symlink out of the project would be refused (rightly): link or copy the tarball in.
  if (spawnSync('ln', ['-f', tar, path.join(project, 'rootfs.tar')]).status !== 0) run('cp', [tar, path.join(project, 'rootfs.tar')]);
  writeFileSync(path.join(project, 'scratchyard.yaml'), 'name: minbase\nlayers:\n  - name: rootfs\n    sources:\n      - kind: tarball\n        src: rootfs.tar\n');
  const tree = path.join(work, 'tree');
  mkdirSync(tree);
  run('tar', ['-xf', tar, '-C', tree]);
  const entries = Number(run('sh', ['-c', `find ${tree} | wc -l`]).stdout.trim());
  const bytes = Number(run('du', ['-sb', tar]).stdout.split('\t')[0]);
  // Warm the page cache for both sides.
  run('cat', [tar], { stdio: ['ignore', 'ignore', 'ignore'] });
  const single = median([1, 2, 3].map(() => time(() => run('sh', ['-c', `tar --sort=name -C ${tree} -c . | openssl dgst -sha256`]))));
  const builds = [1, 2, 3].map((i) => {
    const cache = path.join(work, `deb-cache-${i}`);
    const out = path.join(work, `deb-out-${i}`);
    let rss = 0;
    const ms = time(() => {
      const r = run(process.execPath, [MAXRSS, 'build', project, '--cache', cache, '--out', out]);
      rss = Number(/maxrss-kb=(\d+)/.exec(r.stderr)?.[1] ?? 0);
    });
    rmSync(cache, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
    return { ms, rss };
  });
  const ours = median(builds.map((b) => b.ms));
  const rssMb = Math.max(...builds.map((b) => b.rss)) / 1024;
  console.log(`\n## Debian-sized image: mmdebstrap minbase tarball, ${(bytes / 1e6).toFixed(0)} MB, ${entries} entries, one layer, 3 formats, median of 3`);
  row('scratchyard build (cold cache)', ours, 'tar --sort=name -c | openssl dgst -sha256', single, '≤ 4×');
  if (which(DOCKER) && spawnSync(DOCKER, ['info'], { stdio: 'ignore' }).status === 0) {
    const ctx = path.join(work, 'docker-ctx');
    mkdirSync(ctx);
    run('cp', [tar, path.join(ctx, 'rootfs.tar')]);
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nADD rootfs.tar /\n');
    const docker = median(
      [1, 2, 3].map(() => {
        const ms = time(() => run(DOCKER, ['build', '--no-cache', '-q', '-t', 'scratchyard-bench/minbase', ctx], { env: { ...process.env, DOCKER_BUILDKIT: '1' } }));
        spawnSync(DOCKER, ['rmi', '-f', 'scratchyard-bench/minbase'], { stdio: 'ignore' });
        return ms;
      }),
    );
    console.log(`${'docker build (FROM scratch + ADD), vs ours'.padEnd(44)} ${docker.toFixed(0).padStart(7)} ms   speed-up ${(docker / ours).toFixed(2)}×   target ≥ 3×`);
  } else console.log('docker build: skipped (no docker engine)');
  console.log(`${'peak memory (max RSS of the CLI)'.padEnd(44)} ${rssMb.toFixed(0).padStart(7)} MB   target ≤ 250 MB`);
}

/** Issue 4: the debian node against mmdebstrap alone, an edit above a Debian base, basebox's size. */
function benchDebianNode(work) {
  if (!which('mmdebstrap')) return console.log('\n## debian node: skipped (apt-get install mmdebstrap)');
  const mirror = hostMirror();
  const example = path.join(ROOT, 'assets/examples/debian');
  // The example's `mirror: auto` reads the suite, its -updates and -security archives from the host's apt
  // sources: the reference reads the same ones (with the suite alone apt fetches fewer lists and older packages).
  const archives = hostArchiveLines('bookworm');
  const suiteOnly = time(() => run('mmdebstrap', ['--variant=minbase', '--format=tar', 'bookworm', path.join(work, 'alone.tar'), mirror]));
  const alone = time(() => run('mmdebstrap', ['--variant=minbase', '--format=tar', 'bookworm', path.join(work, 'alone.tar'), ...archives]));
  const project = path.join(work, 'debian-node');
  run('cp', ['-r', example, project]);
  run('rm', ['-rf', path.join(project, 'out')]);
  const cache = path.join(work, 'debian-node-cache');
  const ours = time(() => run(process.execPath, [CLI, 'build', project, '--cache', cache, '--format', '']));
  console.log(`\n## debian node (bookworm minbase, cold: both download and install; ${load()})`);
  row('scratchyard build, layers only', ours, `mmdebstrap alone, same ${archives.length} archives`, alone, '≤ 1.2×');
  row('same build', ours, 'mmdebstrap alone, the suite only', suiteOnly);
  if (process.env.SCRATCHYARD_BENCH_MMDEBSTRAP_ONLY) return;
  const file = path.join(project, 'scratchyard.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('wc -l', 'wc -l; echo edited'));
  let rerun = '';
  const edit = median(
    [1, 2, 3].map((i) => {
      writeFileSync(file, readFileSync(file, 'utf8').replace(/echo edited\d*/, `echo edited${i}`));
      return time(() => (rerun += run(process.execPath, [CLI, 'build', project, '--cache', cache]).stderr));
    }),
  );
  console.log(`${'edit the app layer, rebuild (3 formats, median of 3)'.padEnd(44)} ${edit.toFixed(0).padStart(7)} ms   mmdebstrap re-run: ${/mmdebstrap/.test(rerun) ? 'yes' : 'no'}   target ≤ 2000 ms, no re-run`);
  if (which('debootstrap') && which('fakeroot')) {
    // debootstrap alone as root (no fakeroot needed), against our node with tool: debootstrap (fakeroot, as a normal user would).
    const dAlone = time(() => run('debootstrap', ['--variant=minbase', 'bookworm', path.join(work, 'debootstrap-alone'), mirror]));
    const dProject = path.join(work, 'debian-node-debootstrap');
    run('cp', ['-r', example, dProject]);
    run('rm', ['-rf', path.join(dProject, 'out')]);
    const dFile = path.join(dProject, 'scratchyard.yaml');
    writeFileSync(dFile, readFileSync(dFile, 'utf8').replace('variant: minbase', 'variant: minbase\n        tool: debootstrap'));
    const dOurs = time(() => run(process.execPath, [CLI, 'build', dProject, '--cache', path.join(work, 'debootstrap-cache'), '--format', '']));
    row('scratchyard build, tool: debootstrap', dOurs, 'debootstrap alone (root)', dAlone, '≤ 1.2×');
  }
  const basebox = path.join(work, 'basebox');
  run('cp', ['-r', path.join(ROOT, 'assets/examples/basebox'), basebox]);
  run('rm', ['-rf', path.join(basebox, 'out')]);
  run(process.execPath, [CLI, 'build', basebox, '--cache', cache, '--format', 'rootfs']);
  const size = (f) => Number(run('du', ['-b', f]).stdout.split('\t')[0]);
  const bb = size(path.join(basebox, 'out/basebox.rootfs.tar'));
  const mb = size(path.join(work, 'alone.tar'));
  console.log(`${'basebox rootfs tar vs Debian minbase tar'.padEnd(44)} ${(bb / 1e6).toFixed(1).padStart(7)} MB   ref minbase: ${(mb / 1e6).toFixed(1)} MB   ratio ${(bb / mb).toFixed(3)}`);
}

/**
 * Issue 6: `scratchyard inspect` of a Debian-sized image docker made (docker
 * import of the minbase tarball, then a RUN layer that removes the docs:
 * whiteouts and waste), saved by `docker save`. References, same archive:
 * `tar -tvf` of the archive (lists its members, seeking past their bytes) and
 * `tar -tv` of every layer in it (the listing inspect itself needs).
 */
function benchInspect(work) {
  if (!which('mmdebstrap')) return console.log('\n## inspect: skipped (apt-get install mmdebstrap)');
  if (!(which(DOCKER) && spawnSync(DOCKER, ['info'], { stdio: 'ignore' }).status === 0)) return console.log('\n## inspect: skipped (no docker engine)');
  const tar = minbaseTarball();
  const tag = 'scratchyard-bench/inspect';
  const archive = path.join(work, 'inspect.docker.tar');
  try {
    run(DOCKER, ['import', tar, `${tag}-base`]);
    const ctx = path.join(work, 'inspect-ctx');
    mkdirSync(ctx);
    writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${tag}-base\nRUN rm -rf /usr/share/doc /usr/share/man /var/cache/debconf/templates.dat-old\n`);
    run(DOCKER, ['build', '-q', '-t', tag, ctx]);
    run(DOCKER, ['save', '-o', archive, tag]);
  } finally {
    spawnSync(DOCKER, ['rmi', '-f', tag, `${tag}-base`], { stdio: 'ignore' });
  }
  const layers = JSON.parse(run('tar', ['-xOf', archive, 'manifest.json']).stdout)[0].Layers;
  run('cat', [archive], { stdio: ['ignore', 'ignore', 'ignore'] });
  const N = 7;
  const cache = path.join(work, 'inspect-cache');
  const report = run(process.execPath, [CLI, 'inspect', archive, '--json', '--cache', cache]).stdout;
  const [ours, outer, inner] = interleaved(N, [
    [process.execPath, [CLI, 'inspect', archive, '--json', '--cache', cache]],
    ['tar', ['-tvf', archive]],
    ['sh', ['-c', layers.map((l) => `tar -xOf ${archive} ${l} | tar -tv >/dev/null`).join(' && ')]],
  ]);
  const a = JSON.parse(report);
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(`\n## inspect a docker-made Debian-sized image: ${layers.length} layers, ${mb(a.stored)} stored, ${a.files} entries, wasted ${mb(a.wasted.bytes)}, interleaved, median of ${N}`);
  rowCpu('scratchyard inspect --json (whole CLI)', ours, 'tar -tvf of the archive', outer);
  rowCpu('scratchyard inspect --json (whole CLI)', ours, 'tar -tv of every layer in it', inner, '≤ 1.5× (layer digests verified)');
}

/** A ustar header: name (under 100 bytes), mode, size, type; the checksum filled in. */
function ustar(name, type, size = 0) {
  const h = Buffer.alloc(512);
  const put = (s, at, len) => h.write(s.slice(0, len), at, 'latin1');
  const oct = (n, len) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(type === '5' ? 0o755 : 0o644, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(0, 12), 136, 12);
  h.fill(0x20, 148, 156);
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(oct(sum, 7) + ' ', 148, 8);
  return h;
}

/**
 * An unpacked docker-archive (manifest.json, config, layer tars) of `n`
 * entries: a first layer of folders of 1000 small files each, and a second
 * that removes every tenth folder (whiteouts, so waste and dive's figures have
 * work) and rewrites one file in each other folder.
 */
function scaleImage(dir, n) {
  mkdirSync(dir, { recursive: true });
  const dirs = Math.ceil(n / 1001);
  const layer = (name, write) => {
    const fd = openSync(path.join(dir, name), 'w');
    const hash = createHash('sha256');
    const chunks = [];
    let len = 0;
    const flush = () => {
      const b = Buffer.concat(chunks);
      hash.update(b);
      writeSync(fd, b);
      chunks.length = 0;
      len = 0;
    };
    write((b) => {
      chunks.push(b);
      if ((len += b.length) > 8 << 20) flush();
    });
    chunks.push(Buffer.alloc(1024));
    flush();
    closeSync(fd);
    return hash.digest('hex');
  };
  const data = Buffer.alloc(512, 0x61);
  const base = layer('base.tar', (w) => {
    for (let d = 0; d < dirs; d++) {
      w(ustar(`srv/d${d}/`, '5'));
      for (let f = 0; f < 1000; f++) {
        w(ustar(`srv/d${d}/f${f}`, '0', 100));
        w(data);
      }
    }
  });
  const top = layer('top.tar', (w) => {
    w(ustar('srv/', '5'));
    for (let d = 0; d < dirs; d++) {
      if (d % 10 === 0) w(ustar(`srv/.wh.d${d}`, '0'));
      else {
        w(ustar(`srv/d${d}/`, '5'));
        w(ustar(`srv/d${d}/f0`, '0', 200));
        w(data);
      }
    }
  });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${base}`, `sha256:${top}`] } }));
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: null, Layers: ['base.tar', 'top.tar'] }]));
  return dirs * 1001;
}

/** Issue 17, point 4: inspect at 100k, 400k and 1M entries: time per entry must stay flat, and so must peak memory. */
function benchInspectScale(work) {
  console.log('\n## inspect at scale: unpacked docker-archives, 2 layers (whiteouts in the second), interleaved with tar -tv of both layers, median of 3');
  // SCRATCHYARD_BENCH_SCALE="2000,8000": other sizes (a quick check of the case itself).
  const sizes = process.env.SCRATCHYARD_BENCH_SCALE?.split(',').map(Number) ?? [100_000, 400_000, 1_000_000];
  const rss = path.join(work, 'rss');
  const inspectOf = (dir) => measure(process.execPath, [CLI, 'inspect', dir, '--json', '--cache', path.join(work, 'scale-cache')]);
  // The fixed start-up, measured in this run: inspect of the same kind of image with 100 entries (code cache warm, as below).
  const tiny = path.join(work, 'scale-tiny');
  scaleImage(tiny, 100);
  inspectOf(tiny);
  const start = median([0, 1, 2].map(() => inspectOf(tiny).ms));
  rmSync(tiny, { recursive: true, force: true });
  console.log(`${'fixed start-up (100 entries)'.padEnd(44)} ${start.toFixed(0)} ms`);
  const perEntry = [];
  for (const n of sizes) {
    const dir = path.join(work, `scale-${n}`);
    const entries = scaleImage(dir, n);
    run('cat', [path.join(dir, 'base.tar'), path.join(dir, 'top.tar')], { stdio: ['ignore', 'ignore', 'ignore'] });
    const ours = () => {
      const r = measure('/usr/bin/time', ['-q', '-o', rss, '-f', '%M', process.execPath, CLI, 'inspect', dir, '--json', '--cache', path.join(work, 'scale-cache')]);
      return { ...r, rss: Number(readFileSync(rss, 'utf8').trim().split('\n').pop()) / 1024 };
    };
    const samples = [];
    const refs = [];
    for (let i = 0; i < 3; i++) {
      samples.push(ours());
      refs.push(measure('sh', ['-c', `tar -tvf ${dir}/base.tar >/dev/null && tar -tvf ${dir}/top.tar >/dev/null`]));
    }
    const m = { ms: median(samples.map((x) => x.ms)), cpu: median(samples.map((x) => x.cpu)) };
    const ref = { ms: median(refs.map((x) => x.ms)), cpu: median(refs.map((x) => x.cpu)) };
    rowCpu(`inspect ${entries} entries`, m, 'tar -tv', ref);
    console.log(`${''.padEnd(44)} ${((m.ms / entries) * 1e3).toFixed(2)} µs per entry (${(((m.ms - start) / entries) * 1e3).toFixed(2)} with the start-up taken off)   peak RSS ${Math.max(...samples.map((x) => x.rss)).toFixed(0)} MB   target flat µs/entry (±20 %), ≤ 250 MB`);
    perEntry.push({ raw: m.ms / entries, marginal: (m.ms - start) / entries });
    rmSync(dir, { recursive: true, force: true });
  }
  const spreadOf = (xs) => Math.max(...xs.map((x) => Math.abs(x / median(xs) - 1)));
  console.log(`${'µs per entry, largest deviation from the median'.padEnd(44)} ${(100 * spreadOf(perEntry.map((x) => x.raw))).toFixed(0)} % (${(100 * spreadOf(perEntry.map((x) => x.marginal))).toFixed(0)} % with the start-up taken off)   target ≤ 20 %`);
}

/** bench/scale.ts, bundled on the fly (it imports the engine's TypeScript). */
function benchScale(work) {
  const out = path.join(work, 'scale.mjs');
  // The banner gives the ESM bundle a require() for the CommonJS packages it pulls in (tar-stream).
  const banner = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";
  run(process.execPath, ['-e', `require('esbuild').buildSync({ entryPoints: [${JSON.stringify(path.join(ROOT, 'bench/scale.ts'))}], bundle: true, platform: 'node', format: 'esm', outfile: ${JSON.stringify(out)}, banner: { js: ${JSON.stringify(banner)} } })`], { cwd: ROOT });
  console.log('\n' + run(process.execPath, [out]).stdout.trim());
}

/**
 * Each runner on the hello example (a whole `scratchyard run` process) against
 * the bare command doing the same in the same run: `unshare -r chroot DIR
 * /init` on the unpacked rootfs, qemu with the same kernel and machine on an
 * initrd made by find | cpio | gzip with a four-line /rdinit, and `docker run`
 * of the same loaded image.
 */
function benchRunners(work) {
  const tag = 'scratchyard-bench/hello:latest';
  const project = path.join(work, 'hello');
  run('cp', ['-r', path.join(ROOT, 'assets/examples/hello'), project]);
  rmSync(path.join(project, 'out'), { recursive: true, force: true });
  writeFileSync(path.join(project, 'scratchyard.yaml'), readFileSync(path.join(project, 'scratchyard.yaml'), 'utf8').replace(/^tag: .*$/m, `tag: ${tag}`));
  const cache = path.join(work, 'runners-cache');
  const rootfs = run(process.execPath, [CLI, 'build', project, '--cache', cache, '--format', 'rootfs,docker', '--json']);
  const outputs = JSON.parse(rootfs.stdout).outputs;
  const dir = path.join(work, 'root');
  mkdirSync(dir);
  run('tar', ['-xf', outputs.rootfs, '-C', dir]);
  const cli = (runner) => () => {
    const r = run(process.execPath, [CLI, 'run', project, '--runner', runner, '--cache', cache]);
    if (r.stdout !== 'Hello, world!\n') throw new Error(`${runner}: ${r.stdout}`);
  };
  const median_ = (n, fn) => (fn(), median(Array.from({ length: n }, () => time(fn))));
  console.log('\n## runners (hello), whole processes, median (after one warm-up run)');

  const bareChroot = median_(7, () => run('unshare', ['-r', 'chroot', dir, '/init']));
  row('run --runner chroot', median_(7, cli('chroot')), 'unshare -r chroot DIR /init', bareChroot, '≤ +50 ms');

  if (spawnSync(DOCKER, ['info'], { stdio: 'ignore' }).status === 0) {
    run(DOCKER, ['load', '-q', '-i', outputs.docker]);
    const bareDocker = median_(5, () => run(DOCKER, ['run', '--rm', '--network', 'none', tag]));
    row('run --runner docker', median_(5, cli('docker')), 'docker run --rm --network none', bareDocker, '≤ +20 %');
    run(DOCKER, ['rmi', '-f', tag]);
  }

  const kernel = readdirSync('/boot').filter((n) => n.startsWith('vmlinuz-')).sort().pop();
  if (which('qemu-system-x86_64') && kernel) {
    const vmroot = path.join(work, 'vmroot');
    run('cp', ['-a', dir, vmroot]);
    writeFileSync(
      path.join(vmroot, 'rdinit'),
      '#!/bin/sh\nmount -t devtmpfs devtmpfs /dev\n/init >/dev/ttyS1; echo $? >/dev/ttyS2\npoweroff -f\n',
      { mode: 0o755 },
    );
    const initrd = path.join(work, 'hand.cpio.gz');
    run('sh', ['-c', `cd ${vmroot} && find . | cpio -o -H newc --quiet | gzip -6 > ${initrd}`]);
    const qemu = () =>
      run('qemu-system-x86_64', [
        '-accel', 'tcg', '-M', 'pc', '-bios', 'qboot.rom', '-m', '128', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
        '-kernel', path.join('/boot', kernel), '-initrd', initrd, '-append', 'console=ttyS0 quiet loglevel=0 panic=-1 rdinit=/rdinit',
        '-serial', 'null', '-serial', `file:${path.join(work, 'vm-out')}`, '-serial', `file:${path.join(work, 'vm-rc')}`,
      ]);
    const bareVm = median_(3, qemu);
    if (readFileSync(path.join(work, 'vm-out'), 'utf8').replace(/\r/g, '') !== 'Hello, world!\n') throw new Error('the hand-made initrd did not greet');
    row('run --runner vm (TCG)', median_(3, cli('vm')), 'qemu + hand-made initrd', bareVm, '≤ +10 %');
  }
}

/** A docker-registry on a free port with its storage under `work`; returns the repository and a stop function. */
function startRegistry(work) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const config = path.join(work, 'registry.yml');
  writeFileSync(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(work, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 100 && spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { shell: false }).status !== 0; i++) spawnSync('sleep', ['0.05']);
  return { repo: `docker://127.0.0.1:${port}/bench/cache`, stop: () => child.kill() };
}

function benchSharedCache(work) {
  if (!which('mmdebstrap') || !which('docker-registry')) return console.log('\n## shared cache: skipped (apt-get install mmdebstrap docker-registry)');
  const mirror = hostMirror();
  const example = path.join(ROOT, 'assets/examples/debian');
  const alone = time(() => run('mmdebstrap', ['--variant=minbase', '--format=tar', 'bookworm', path.join(work, 'alone.tar'), mirror]));
  const reg = startRegistry(work);
  try {
    const warm = time(() => run(process.execPath, [CLI, 'build', example, '--cache', path.join(work, 'sc-a'), '--out', path.join(work, 'sc-a-out'), '--format', '', '--cache-to', reg.repo]));
    const from = time(() => run(process.execPath, [CLI, 'build', example, '--cache', path.join(work, 'sc-b'), '--out', path.join(work, 'sc-b-out'), '--format', '', '--cache-from', reg.repo]));
    const again = time(() => run(process.execPath, [CLI, 'build', example, '--cache', path.join(work, 'sc-a'), '--out', path.join(work, 'sc-a-out'), '--format', '', '--cache-to', reg.repo]));
    console.log('\n## shared cache (Debian example, layers only, local docker-registry)');
    row('cold build with --cache-from a warm registry', from, 'mmdebstrap alone', alone, '≥ 5× faster (ratio ≤ 0.2)');
    row('cold build pushing --cache-to', warm, 'mmdebstrap alone', alone);
    row('warm rebuild pushing again (all there)', again, 'mmdebstrap alone', alone);
  } finally {
    reg.stop();
  }
}

/**
 * The chroot runner on a cached image whose config it must apply (a non-root
 * user, env, workdir): the whole `run` process against the bare chroot. Set
 * SCRATCHYARD_BENCH_CLI to another bundle (an older commit's) to compare.
 */
function benchChrootConfig(work) {
  const cliPath = process.env.SCRATCHYARD_BENCH_CLI ?? CLI;
  const project = path.join(work, 'hello-config');
  run('cp', ['-r', path.join(ROOT, 'assets/examples/hello'), project]);
  rmSync(path.join(project, 'out'), { recursive: true, force: true });
  const recipe = readFileSync(path.join(project, 'scratchyard.yaml'), 'utf8').replace(/^config:\n/m, 'config:\n  user: "65532:65532"\n').replace(/^  workdir: \/$/m, '  workdir: /tmp');
  writeFileSync(path.join(project, 'scratchyard.yaml'), recipe);
  const cache = path.join(work, 'config-cache');
  const rootfs = run(process.execPath, [cliPath, 'build', project, '--cache', cache, '--format', 'rootfs', '--json']);
  const dir = path.join(work, 'config-root');
  mkdirSync(dir);
  run('tar', ['-xf', JSON.parse(rootfs.stdout).outputs.rootfs, '-C', dir]);
  const cli = () => {
    const r = run(process.execPath, [cliPath, 'run', project, '--cache', cache, '--entrypoint', '/bin/sh', '--', '-c', 'id -u; pwd']);
    if (r.stdout !== '65532\n/tmp\n') throw new Error(`chroot with config: ${JSON.stringify(r.stdout)}`);
  };
  const median_ = (n, fn) => (fn(), median(Array.from({ length: n }, () => time(fn))));
  console.log(`\n## chroot runner with the config applied (user 65532, workdir), cached image, median of 9 (${path.relative(ROOT, cliPath) || cliPath})`);
  const bare = median_(9, () => run('unshare', ['-r', 'chroot', dir, '/bin/sh', '-c', 'id -u; pwd']));
  row('run --runner chroot (config applied)', median_(9, cli), 'unshare -r chroot DIR sh', bare);
}

const load = () => `load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`;

/**
 * Issue 16's benchmark: the SBOM step (the "sbom" node's own time, as the
 * build reports it) against the whole build, on warm rebuilds of a
 * Debian-sized image (the minbase tarball: 96 packages in its dpkg database)
 * with host files above it (bash and curl at their /usr paths, as the
 * merged-/usr base has them: status.d entries and host packages). Three kinds of rebuild: into the same output folder (nothing to
 * write), into a new one each time (every output rewritten), and after an edit of the top layer's one file (the SBOM made again).
 */
function benchSbom(work) {
  if (!which('mmdebstrap')) return console.log('\n## sbom: skipped (apt-get install mmdebstrap)');
  const tar = minbaseTarball();
  const project = path.join(work, 'sbom');
  mkdirSync(project, { recursive: true });
  if (spawnSync('ln', ['-f', tar, path.join(project, 'rootfs.tar')]).status !== 0) run('cp', [tar, path.join(project, 'rootfs.tar')]);
  // The top layer's one inline file is what an edit changes (the SBOM's inputs change with it).
  const recipe = (stamp) =>
    writeFileSync(
      path.join(project, 'scratchyard.yaml'),
      `name: sbomimg\nsbom: true\nlayers:\n  - name: rootfs\n    sources:\n      - kind: tarball\n        src: rootfs.tar\n  - name: tools\n    sources:\n      - kind: host\n        paths: [/usr/bin/bash, /usr/bin/curl]\n  - name: stamp\n    sources:\n      - kind: file\n        path: /stamp\n        content: "${stamp}"\n`,
    );
  recipe('0');
  const cache = path.join(work, 'sbom-cache');
  const build = (out) => {
    let stderr = '';
    const ms = time(() => (stderr = run(process.execPath, [CLI, 'build', project, '--cache', cache, '--out', out]).stderr));
    const m = /sbom (?:done|cached) (\d+) ms/.exec(stderr);
    if (!m) throw new Error(`no sbom step in:\n${stderr}`);
    return { ms, sbom: Number(m[1]), cached: /sbom cached/.test(stderr) };
  };
  const cold = build(path.join(work, 'sbom-out'));
  const N = 5;
  const same = [];
  const fresh = [];
  const edited = [];
  for (let i = 0; i < N; i++) {
    same.push(build(path.join(work, 'sbom-out')));
    const out = path.join(work, `sbom-out-${i}`);
    fresh.push(build(out));
    rmSync(out, { recursive: true, force: true });
    recipe(String(i + 1));
    edited.push(build(path.join(work, 'sbom-out')));
  }
  recipe(String(N));
  const show = (name, xs) => {
    const ms = median(xs.map((x) => x.ms));
    const step = median(xs.map((x) => x.sbom));
    const made = xs.every((x) => x.cached) ? 'reused' : xs.some((x) => x.cached) ? 'reused and made' : 'made';
    console.log(`${name.padEnd(44)} ${step.toFixed(0).padStart(7)} ms   whole build: ${ms.toFixed(0)} ms   share ${((100 * step) / ms).toFixed(1)} %   ${made}   target ≤ 5 %`);
  };
  console.log(`\n## sbom: the SBOM step in rebuilds of a Debian-sized image with host files, median of ${N} (${load()})`);
  show('sbom step, cold build', [cold]);
  show('sbom step, no-op rebuild (same out folder)', same);
  show('sbom step, rebuild into a new out folder', fresh);
  show('sbom step, one file of the top layer edited', edited);
}

/**
 * Issue 17, points 1 and 4: a tarball imported as one layer (docker + OCI +
 * rootfs, no SBOM: that step has its own case) at three sizes, the Debian
 * tree copied under 1, 4 and 16 prefixes (hard-linked copies, archived with
 * --hard-dereference so every copy's bytes are in the tar). Time per GB must
 * stay constant (±20 %) and peak RSS flat; each size's reference is
 * `tar --sort=name -c | openssl dgst -sha256` of the same tree, same run.
 */
function benchImportScale(work) {
  if (!which('mmdebstrap')) return console.log('\n## import-scale: skipped (apt-get install mmdebstrap)');
  const tar = minbaseTarball();
  const tree = path.join(work, 'scale-tree');
  mkdirSync(tree);
  run('tar', ['-xf', tar, '-C', tree]);
  const cpuOf = (file) => {
    const [wall, u, s, kb] = readFileSync(file, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    return { wall: wall * 1000, cpu: (u + s) * 1000, rssMb: kb / 1024 };
  };
  const timed = (cmd) => {
    const out = path.join(work, 'time.txt');
    run('/usr/bin/time', ['-q', '-o', out, '-f', '%e %U %S %M', 'sh', '-c', cmd]);
    return cpuOf(out);
  };
  const rows = [];
  console.log(`\n## import-scale: one tarball layer, docker + OCI + rootfs, no SBOM (${load()})`);
  // The fixed start-up (a fresh cache: no V8 code cache), measured in this run: a build of a two-file tarball.
  const tiny = path.join(work, 'scale-tiny');
  mkdirSync(tiny);
  run('tar', ['-C', tree, '-cf', path.join(tiny, 'rootfs.tar'), './etc/hostname', './etc/passwd']);
  writeFileSync(path.join(tiny, 'scratchyard.yaml'), 'name: scale\nlayers:\n  - name: rootfs\n    sources:\n      - kind: tarball\n        src: rootfs.tar\n');
  const starts = [0, 1, 2].map((i) => {
    const t = timed(`${process.execPath} ${CLI} build ${tiny} --cache ${path.join(work, `scale-tiny-cache-${i}`)} --out ${path.join(work, `scale-tiny-out-${i}`)} --no-sbom >/dev/null`);
    rmSync(path.join(work, `scale-tiny-cache-${i}`), { recursive: true, force: true });
    rmSync(path.join(work, `scale-tiny-out-${i}`), { recursive: true, force: true });
    return t;
  });
  const start = { wall: median(starts.map((t) => t.wall)), cpu: median(starts.map((t) => t.cpu)), rssMb: median(starts.map((t) => t.rssMb)) };
  console.log(`${'fixed start-up (a two-file tarball)'.padEnd(18)} ours ${(start.wall / 1000).toFixed(2)} s (cpu ${(start.cpu / 1000).toFixed(2)} s)   peak RSS ${start.rssMb.toFixed(0)} MB`);
  for (const copies of [1, 4, 16]) {
    const root = path.join(work, `scale-${copies}`);
    const project = path.join(work, `scale-project-${copies}`);
    mkdirSync(root);
    mkdirSync(project);
    for (let i = 0; i < copies; i++) run('cp', ['-al', tree, path.join(root, `p${i}`)]);
    const big = path.join(project, 'rootfs.tar');
    run('tar', ['--sort=name', '--hard-dereference', '-C', root, '-cf', big, '.']);
    const bytes = Number(run('du', ['-sb', big]).stdout.split('\t')[0]);
    writeFileSync(path.join(project, 'scratchyard.yaml'), 'name: scale\nlayers:\n  - name: rootfs\n    sources:\n      - kind: tarball\n        src: rootfs.tar\n');
    run('cat', [big], { stdio: ['ignore', 'ignore', 'ignore'] });
    const ref = timed(`tar --sort=name --hard-dereference -C ${root} -c . | openssl dgst -sha256 >/dev/null`);
    const cache = path.join(work, `scale-cache-${copies}`);
    const out = path.join(work, `scale-out-${copies}`);
    const ours = timed(`${process.execPath} ${CLI} build ${project} --cache ${cache} --out ${out} --no-sbom >/dev/null`);
    rmSync(cache, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
    const gb = bytes / 1e9;
    rows.push({ gb, ours, ref });
    console.log(
      `${`${gb.toFixed(2)} GB tarball`.padEnd(18)} ours ${(ours.wall / 1000).toFixed(1).padStart(6)} s (cpu ${(ours.cpu / 1000).toFixed(1)} s, ${(ours.wall / 1000 / gb).toFixed(1)} s/GB, cpu ${(ours.cpu / 1000 / gb).toFixed(1)} s/GB)   peak RSS ${ours.rssMb.toFixed(0)} MB   ref tar | openssl dgst: ${(ref.wall / 1000).toFixed(1)} s (cpu ${(ref.cpu / 1000).toFixed(1)} s)   ratio ${(ours.wall / ref.wall).toFixed(2)} (cpu ${(ours.cpu / ref.cpu).toFixed(2)})`,
    );
  }
  const spreadOf = (xs) => Math.max(...xs.map((x) => Math.abs(x / median(xs) - 1)));
  const perGb = rows.map((r) => r.ours.cpu / r.gb);
  const marginal = rows.map((r) => (r.ours.cpu - start.cpu) / r.gb);
  console.log(`${'cpu time per GB, largest deviation from the median'.padEnd(44)} ${(100 * spreadOf(perGb)).toFixed(0)} %   target ≤ 20 %`);
  console.log(`${'same, the fixed start-up taken off'.padEnd(44)} ${(100 * spreadOf(marginal)).toFixed(0)} %   (${marginal.map((x) => (x / 1000).toFixed(1)).join(', ')} s/GB)`);
  console.log(`${'peak RSS, largest'.padEnd(44)} ${Math.max(...rows.map((r) => r.ours.rssMb)).toFixed(0)} MB   target ≤ 250 MB at every size`);
}

const which_ = process.argv[2] ?? 'all';
if (!process.env.SCRATCHYARD_BENCH_PREBUILT) execFileSync(process.execPath, [path.join(ROOT, 'scripts/bundle.mjs')], { stdio: 'inherit' });
const work = mkdtempSync(path.join(os.tmpdir(), 'scratchyard-bench-'));
try {
  console.log(`scratchyard benchmarks — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, ${load()}`);
  if (which_ === 'all' || which_ === 'example') benchExample(work);
  if (which_ === 'all' || which_ === 'startup') benchStartup(work);
  if (which_ === 'all' || which_ === 'chroot-config') benchChrootConfig(work);
  if (which_ === 'all' || which_ === 'debian') benchDebian(work);
  if (which_ === 'all' || which_ === 'scale') benchScale(work);
  if (which_ === 'all' || which_ === 'debian-node') benchDebianNode(work);
  if (which_ === 'all' || which_ === 'runners') benchRunners(work);
  if (which_ === 'all' || which_ === 'inspect') benchInspect(work);
  if (which_ === 'all' || which_ === 'inspect-scale') benchInspectScale(work);
  if (which_ === 'all' || which_ === 'shared-cache') benchSharedCache(work);
  if (which_ === 'all' || which_ === 'sbom') benchSbom(work);
  if (which_ === 'all' || which_ === 'import-scale') benchImportScale(work);
} finally {
  rmSync(work, { recursive: true, force: true });
}
