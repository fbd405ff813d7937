// The engines' image listings, parsed where they enter (recorded from docker
// 20.10 / podman 4.3 on Debian 12): rows that do not fit are left out, never
// passed on as references.
import { describe, expect, it } from 'vitest';
import { parseDockerImages, parseDockerSize, parsePodmanImages } from '../../electron/engine/oci/local-images';

const ID = '4ef432fecb8cd2f96fb937ec910d11ac8b81f51dfa81348589ee980eddc74666';

describe('local image listings', () => {
  it('docker: one JSON object a line, SI sizes, untagged images by id', () => {
    const out = [
      JSON.stringify({ Containers: 'N/A', CreatedAt: '2026-11-28 19:04:29 +0000 UTC', ID: `sha256:${ID}`, Repository: 'ib-base', Size: '1.98MB', Tag: '1' }),
      JSON.stringify({ CreatedAt: '1970-01-01 00:00:00 +0000 UTC', ID: `sha256:${'a'.repeat(64)}`, Repository: '<none>', Size: '20MB', Tag: '<none>' }),
      'not json',
      JSON.stringify({ ID: `sha256:${'b'.repeat(64)}`, Repository: '--output=/etc', Size: '1kB', Tag: 'x' }),
      JSON.stringify({ ID: 'short', Repository: 'a', Size: '1kB', Tag: 'x' }),
    ].join('\n');
    expect(parseDockerImages(out)).toEqual([
      { engine: 'docker', name: 'ib-base', tag: '1', id: `sha256:${ID}`, size: 1_980_000, created: '2026-11-28T19:04:29.000Z', ref: 'docker-daemon:ib-base:1' },
      { engine: 'docker', name: '<none>', id: `sha256:${'a'.repeat(64)}`, size: 20_000_000, created: '1970-01-01T00:00:00.000Z', ref: `docker-daemon:sha256:${'a'.repeat(64)}` },
    ]);
    expect(parseDockerSize('0B')).toBe(0);
    expect(parseDockerSize('12 potatoes')).toBeUndefined();
  });

  it('podman: an array; tags in Names (4.3) or RepoTags, one row per tag', () => {
    const out = JSON.stringify([
      { Id: ID, RepoTags: null, Names: ['localhost/a/b:latest', 'localhost/a/b:v2'], Size: 2126510, Created: 0 },
      { Id: 'c'.repeat(64), RepoTags: null, Size: 5, Created: 1700000000 },
      { Id: 'nope', Names: ['x:1'], Size: 1 },
    ]);
    const rows = parsePodmanImages(out);
    expect(rows.map((r) => [r.name, r.tag, r.ref])).toEqual([
      ['localhost/a/b', 'latest', 'containers-storage:localhost/a/b:latest'],
      ['localhost/a/b', 'v2', 'containers-storage:localhost/a/b:v2'],
      ['<none>', undefined, `containers-storage:sha256:${'c'.repeat(64)}`],
    ]);
    expect(rows[0].created).toBe('1970-01-01T00:00:00.000Z');
    expect(parsePodmanImages('{"not": "an array"}')).toEqual([]);
  });
});
