// The one tar reader (electron/engine/oci/tar.ts): archives GNU tar writes read
// back exactly, by both drivers (stream and in place); thousands of mutated
// archives never hang it, never make it throw anything but TarError, never
// make it yield a climbing name.
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, linkSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ImagePath } from '../../shared/brand';
import { TarError, readTar, scanTar, type TarHeader } from '../../electron/engine/oci/tar';
import { importTar } from '../../electron/engine/oci/tar-import';
import { BlobStore } from '../../electron/engine/store/blobs';
import { lacks, sh, tempDir } from '../helpers/env';

const work = tempDir('sy-tar-reader-');

interface Seen {
  header: Omit<TarHeader, 'dataOffset'>;
  sha?: string;
}

/** Every entry by the stream driver, contents hashed, input fed in the given chunk sizes. */
async function viaStream(bytes: Buffer, cuts: number[] = [65536]): Promise<Seen[]> {
  async function* chunks() {
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const n = Math.max(1, cuts[i % cuts.length]);
      yield bytes.subarray(at, at + n);
      at += n;
    }
  }
  const out: Seen[] = [];
  for await (const { header, content } of readTar(chunks())) {
    const { dataOffset: _, ...h } = header;
    if (header.type === 'file') {
      const hash = createHash('sha256');
      for await (const c of content) hash.update(c);
      out.push({ header: h, sha: hash.digest('hex') });
    } else out.push({ header: h });
  }
  return out;
}

const scratch = path.join(work, 'scan.tar');

/** Every header by the in-place driver. */
function viaScan(bytes: Buffer): Omit<TarHeader, 'dataOffset'>[] {
  writeFileSync(scratch, bytes);
  const fd = openSync(scratch, 'r');
  try {
    return [...scanTar(fd, 0, bytes.length)].map(({ dataOffset: _, ...h }) => h);
  } finally {
    closeSync(fd);
  }
}

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const LONG = 'deep/' + 'a-rather-long-folder-name/'.repeat(6) + 'and-a-file-name-past-one-hundred-bytes.txt';

/** A folder of real files: a long name, a hard link, a symlink, a fifo, an executable, an xattr with binary bytes. */
function sampleTree(): { dir: string; xattr: boolean } {
  const dir = path.join(work, 'src');
  mkdirSync(path.join(dir, path.dirname(LONG)), { recursive: true });
  writeFileSync(path.join(dir, LONG), 'long\n');
  writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(200_000, 7));
  writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  linkSync(path.join(dir, 'run.sh'), path.join(dir, 'hard.sh'));
  symlinkSync('/usr/share/zoneinfo/UTC', path.join(dir, 'localtime'));
  sh('mkfifo', [path.join(dir, 'pipe')]);
  const xattr = sh('python3', ['-c', `import os; os.setxattr('${dir}/run.sh', 'user.bin', bytes([1, 0, 255, 254, 128]))`]).code === 0;
  return { dir, xattr };
}

describe.skipIf(lacks('tar', 'python3', 'mkfifo'))('archives written by GNU tar', () => {
  const { dir, xattr } = sampleTree();
  for (const format of ['pax', 'gnu'] as const) {
    it(`--format=${format}: names, types, links, sizes, contents and xattrs read back, the same by both drivers`, async () => {
      const file = path.join(work, `sample-${format}.tar`);
      const r = sh('tar', [`--format=${format}`, '--xattrs', '--xattrs-include=*', '--sort=name', '-C', dir, '-cf', file, '.']);
      expect(r.stderr).toBe('');
      const bytes = readFileSync(file);
      const seen = await viaStream(bytes, [1000, 7, 4096]);
      const by = new Map(seen.map((s) => [s.header.name, s]));
      expect(by.get('')?.header.type).toBe('dir');
      expect(by.get(LONG)).toMatchObject({ header: { type: 'file', size: 5 }, sha: sha('long\n') });
      expect(by.get('big.bin')).toMatchObject({ header: { type: 'file', size: 200_000 }, sha: sha(Buffer.alloc(200_000, 7)) });
      expect(by.get('localtime')?.header).toMatchObject({ type: 'symlink', linkname: '/usr/share/zoneinfo/UTC' });
      expect(by.get('pipe')?.header.type).toBe('fifo');
      // GNU tar stores the first of two names as the file and the second as a link to it.
      const [first, second] = ['hard.sh', 'run.sh'].map((n) => by.get(n)!.header);
      expect([first.type, second.type]).toEqual(['file', 'link']);
      expect(second.linkname).toBe('hard.sh');
      expect(first.mode).toBe(0o755);
      if (xattr && format === 'pax') expect(first.xattrs).toEqual({ 'user.bin': Buffer.from([1, 0, 255, 254, 128]).toString('base64') });
      expect(viaScan(bytes)).toEqual(seen.map((s) => s.header));
      const listed = sh('tar', ['-tf', file]).stdout.split('\n').filter(Boolean).map((n) => n.replace(/^\.\/?/, '').replace(/\/$/, ''));
      expect(seen.map((s) => s.header.name)).toEqual(listed);
    });
  }

  it('a GNU tar file over the octal limit (sparse, so small on disk) reads with its exact size', async () => {
    const big = path.join(work, 'huge');
    mkdirSync(big);
    const fd = openSync(path.join(big, 'zeros'), 'w');
    ftruncateSync(fd, 9 * 1024 ** 3); // 9 GiB: beyond the 8 GiB that 11 octal digits hold
    writeSync(fd, 'end', 9 * 1024 ** 3 - 3);
    closeSync(fd);
    const file = path.join(work, 'huge.tar');
    // Only the header is wanted: stop reading after it (the data would be 9 GiB of zeros).
    const r = sh('sh', ['-c', `tar --format=gnu -C ${big} -cf - zeros | head -c 4096 > ${file}`]);
    expect(r.code).toBe(0);
    const bytes = readFileSync(file);
    expect(bytes[124] & 0x80).toBe(0x80); // GNU base-256 size
    await expect(viaStream(bytes)).rejects.toThrow(/truncated at byte 4096: "zeros" declares 9663676416 bytes/);
    expect(() => viaScan(bytes)).toThrow(/truncated at byte \d+: the entry at byte 0 declares 9663676416 bytes/);
  });
});

// ---- hostile archives -------------------------------------------------------------

/** A ustar header with a valid checksum; fields given as raw strings. */
function header(f: { name: string; size?: string; type?: string; link?: string; mode?: string }): Buffer {
  const h = Buffer.alloc(512);
  h.write(f.name, 0, 100, 'utf8');
  h.write(f.mode ?? '0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(f.size ?? '00000000000\0', 124, 12, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(f.type ?? '0', 156, 'latin1');
  h.write(f.link ?? '', 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 'latin1');
  return fixChecksum(h, 0);
}

function fixChecksum(b: Buffer, at: number): Buffer {
  b.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', at + 148, 'latin1');
  return b;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
const oct = (n: number, w: number) => n.toString(8).padStart(w - 1, '0') + '\0';
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return len + body;
}
function paxEntry(records: string, name: string, body = ''): Buffer {
  const pax = Buffer.from(records);
  return Buffer.concat([header({ name: 'PaxHeader', type: 'x', size: oct(pax.length, 12) }), pad(pax), header({ name, size: oct(body.length, 12) }), pad(Buffer.from(body))]);
}
const END = Buffer.alloc(1024);

/** Read with both drivers: an array of names, or the TarError's message. Anything else escapes and fails the test. */
async function outcomes(bytes: Buffer, cuts?: number[]): Promise<({ names: string[]; links: string[] } | string)[]> {
  const results: ({ names: string[]; links: string[] } | string)[] = [];
  for (const read of [async () => (await viaStream(bytes, cuts)).map((s) => s.header), async () => viaScan(bytes)]) {
    try {
      const hs = await read();
      results.push({ names: hs.map((h) => h.name), links: hs.filter((h) => h.type === 'link').map((h) => h.linkname) });
    } catch (e) {
      if (!(e instanceof TarError)) throw e;
      results.push(e.message);
    }
  }
  return results;
}

const climbs = (n: string) => n.split('/').includes('..') || n.startsWith('/') || n.includes('\0') || n.split('/').includes('.');

describe('hostile archives', () => {
  it('a PAX size of -1536 (which made the old scanner loop forever) is refused by both drivers', async () => {
    const bytes = Buffer.concat([paxEntry(paxRecord('size', '-1536'), 'f'), END]);
    await expect(viaStream(bytes)).rejects.toThrow(/PAX size "-1536" is not a non-negative integer/);
    expect(() => viaScan(bytes)).toThrow(TarError);
  });

  it.each([
    ['a non-numeric size', header({ name: 'f', size: '0000000z000\0' }), /size field is not an octal number/],
    ['a negative base-256 size', (() => { const h = header({ name: 'f' }); h.fill(0xff, 124, 136); return fixChecksum(h, 0); })(), /negative size/],
    ['a size past the end', header({ name: 'f', size: oct(1 << 30, 12) }), /truncated at byte/],
    ['a bad checksum', (() => { const h = header({ name: 'f' }); h[0] ^= 1; return h; })(), /bad header checksum at byte 0/],
    ['a climbing name', header({ name: 'a/../../etc/passwd' }), /entry "a\/\.\.\/\.\.\/etc\/passwd" climbs out of the archive root/],
    ['a hard link climbing out', header({ name: 'x', type: '1', link: '../../etc/shadow' }), /hard link "x" points out of the archive/],
    ['a PAX path climbing out', paxEntry(paxRecord('path', '../up'), 'ok'), /entry "\.\.\/up" climbs/],
    ['a PAX path with NUL', paxEntry(paxRecord('path', 'a\0b'), 'ok'), /NUL byte/],
    ['a PAX record with a lying length', paxEntry('99 path=x\n', 'ok'), /malformed PAX record at byte 0: length 99 does not fit/],
    ['a PAX record without a newline', paxEntry('10 path=xy', 'ok'), /malformed PAX record/],
    ['a PAX record of 2 MiB', Buffer.concat([header({ name: 'P', type: 'x', size: oct(2 << 20, 12) }), Buffer.alloc(2 << 20)]), /PAX record of 2097152 bytes at byte 0 \(at most 1048576/],
    ['a GNU long name of 2 MiB', Buffer.concat([header({ name: '././@LongLink', type: 'L', size: oct(2 << 20, 12) }), Buffer.alloc(2 << 20)]), /GNU long-name record of 2097152 bytes/],
    ['a GNU long name climbing out', Buffer.concat([header({ name: '././@LongLink', type: 'L', size: oct(6, 12) }), pad(Buffer.from('../x\0\0')), header({ name: 'short' })]), /entry "\.\.\/x" climbs/],
  ])('%s is a TarError naming it', async (_, entry, message) => {
    const bytes = Buffer.concat([entry, END]);
    await expect(viaStream(bytes)).rejects.toThrow(message);
    await expect(viaStream(bytes)).rejects.toBeInstanceOf(TarError);
    expect(() => viaScan(bytes)).toThrow(TarError);
  });

  it('a checksum summed over signed bytes (old tars) is accepted with high bytes in the name, and one off by a byte is not', async () => {
    const signed = (h: Buffer, delta = 0) => {
      h.fill(0x20, 148, 156);
      let sum = 0;
      for (const b of h) sum += b > 127 ? b - 256 : b;
      h.write(oct(sum + delta, 7) + ' ', 148, 'latin1');
      return h;
    };
    const ok = Buffer.concat([signed(header({ name: 'caf\u00e9/na\u00efve' })), END]);
    expect((await viaStream(ok)).map((s) => s.header.name)).toEqual(['café/naïve']);
    expect(viaScan(ok).map((h) => h.name)).toEqual(['café/naïve']);
    const off = Buffer.concat([signed(header({ name: 'caf\u00e9' }), 1), END]);
    await expect(viaStream(off)).rejects.toThrow(/bad header checksum at byte 0/);
    expect(() => viaScan(off)).toThrow(/bad header checksum at byte 0/);
  });

  it.each(['.', './', 'a/.', 'a/./b', '..', 'a/..', '.a/../b', 'x/.hidden/../../y'])('the dot segments of %j are cleaned or refused as by splitting', async (name) => {
    const bytes = Buffer.concat([header({ name }), END]);
    const segs = name.split('/').filter((s) => s !== '' && s !== '.');
    const want = segs.includes('..') ? 'climbs' : segs.join('/');
    for (const r of await outcomes(bytes)) {
      if (want === 'climbs') expect(r).toMatch(/climbs out of the archive root/);
      else expect(r).toEqual({ names: [want], links: [] });
    }
  });

  it('truncation inside contents is reported with the byte offset', async () => {
    const whole = Buffer.concat([header({ name: 'f', size: oct(3000, 12) }), pad(Buffer.alloc(3000, 1)), END]);
    await expect(viaStream(whole.subarray(0, 2000))).rejects.toThrow('truncated at byte 2000: "f" declares 3000 bytes');
    expect(() => viaScan(whole.subarray(0, 2000))).toThrow(/truncated at byte 2000/);
    await expect(viaStream(whole.subarray(0, 300))).rejects.toThrow('truncated at byte 300: a header cut short');
  });

  it('fuzzed: thousands of mutated archives never hang, never throw anything but TarError, never yield a climbing name', async () => {
    const seeds = [
      Buffer.concat([header({ name: 'dir/', type: '5' }), header({ name: 'dir/a', size: oct(700, 12) }), pad(Buffer.alloc(700, 0x61)), header({ name: 'dir/b', type: '1', link: 'dir/a' }), header({ name: 'l', type: '2', link: '../../etc' }), END]),
      Buffer.concat([paxEntry(paxRecord('path', 'p/'.repeat(80) + 'x') + paxRecord('SCHILY.xattr.user.a', '\x01\x00'), 'short', 'body'), END]),
      Buffer.concat([header({ name: '././@LongLink', type: 'L', size: oct(201, 12) }), pad(Buffer.from('g'.repeat(200) + '\0')), header({ name: 'g', size: oct(3, 12) }), pad(Buffer.from('abc')), END]),
    ];
    const mutation = fc.oneof(
      // byte flips anywhere
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      // truncation
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      // splices: a piece of the archive copied over another place
      fc.record({ kind: fc.constant('splice' as const), from: fc.nat(), to: fc.nat(), len: fc.integer({ min: 1, max: 1024 }) }),
      // header field rewrites, checksum fixed so the reader looks past it
      fc.record({
        kind: fc.constant('field' as const),
        block: fc.nat(),
        field: fc.constantFrom([0, 100], [100, 8], [124, 12], [148, 8], [156, 1], [157, 100], [345, 155]),
        text: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('../', '/../../x', '-1536', '77777777777', '\x80\0\0\0\0\0\0\xff\xff\xff\xff\xff', '\xff'.repeat(12), 'x', 'L', 'K', 'g', '1', '2')),
      }),
      // PAX record rewrites in a fresh entry
      fc.record({ kind: fc.constant('pax' as const), key: fc.constantFrom('size', 'path', 'linkpath', 'uid', 'gid', 'SCHILY.xattr.a'), value: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('-1536', '1e9', '0x10', '99999999999999999999', '../../x', '')) }),
    );
    type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;
    const apply = (seed: Buffer, ms: Mutation[]): Buffer => {
      let b = Buffer.from(seed);
      for (const m of ms) {
        if (m.kind === 'flip') b[m.at % b.length] = m.byte;
        else if (m.kind === 'cut') b = b.subarray(0, m.at % (b.length + 1));
        else if (m.kind === 'splice' && b.length) b.copy(b, m.to % b.length, m.from % b.length, (m.from % b.length) + m.len);
        else if (m.kind === 'field' && b.length >= 512) {
          const at = (m.block % Math.floor(b.length / 512)) * 512;
          b.fill(0, at + m.field[0], at + m.field[0] + m.field[1]);
          b.write(m.text, at + m.field[0], m.field[1], 'latin1');
          fixChecksum(b, at);
        } else if (m.kind === 'pax') b = Buffer.concat([paxEntry(paxRecord(m.key, m.value), 'pax-target', 'xyz'), b]);
      }
      return b;
    };
    let runs = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 4 }), async (seed, ms, cuts) => {
        runs++;
        for (const r of await outcomes(apply(seed, ms), cuts)) {
          if (typeof r === 'string') refused++;
          else for (const n of [...r.names, ...r.links]) expect(climbs(n), n).toBe(false);
        }
      }),
      { numRuns: 3000 },
    );
    expect(runs).toBe(3000);
    // The mutations reach the reader's checks, not only its checksum.
    expect(refused).toBeGreaterThan(600);
    expect(refused).toBeLessThan(6000);
  });
});

describe('contents streamed into a pack', () => {
  it('large files flush while they stream; a repeated one (written already) is dropped and what follows lands over it', async () => {
    const big = Buffer.alloc(3 << 20, 0x42);
    const other = Buffer.alloc(5 << 20, 0x43);
    const files: [string, Buffer][] = [
      ['a', Buffer.from('small a')],
      ['big1', big],
      ['big2', big],
      ['b', Buffer.from('small b')],
      ['other', other],
      ['a-again', Buffer.from('small a')],
    ];
    const tar = Buffer.concat([...files.flatMap(([name, body]) => [header({ name, size: oct(body.length, 12) }), pad(body)]), END]);
    const store = new BlobStore(path.join(work, 'cache'));
    await store.open();
    const pack = await store.beginPack('unit-pack');
    async function* chunks() {
      for (let at = 0; at < tar.length; at += 65536) yield tar.subarray(at, at + 65536);
    }
    const tree = await importTar(pack, chunks(), '/' as ImagePath);
    await pack.finish();
    for (const [name, body] of files) {
      const e = tree.get(('/' + name) as ImagePath);
      expect(e).toMatchObject({ type: 'file', size: body.length, digest: sha(body) });
      if (e?.type === 'file') expect(sha(await store.read(e.digest!))).toBe(sha(body));
    }
    // Each distinct content once: 7 + 3 MiB + 7 + 5 MiB.
    expect(statSync(path.join(work, 'cache', 'packs', 'unit-pack')).size).toBe(14 + big.length + other.length);
    await store.close();
  });
});
