// A hostile registry for tests, in a process of its own (tests run the CLI
// with spawnSync, which would stall a server in the test's own event loop).
// Just enough of the distribution API for skopeo: /v2/, manifests by tag or
// digest, blobs. Repositories:
//   endless  a one-layer image whose layer blob never ends (its manifest says 10240 bytes)
//   silent   every request under it is accepted and never answered
//   wrongsize  a one-layer image whose manifest says its (well-formed, digest-true) layer has 100 bytes
//   html     its manifests are a web page (200, text/html), as a site that answers every path
// Prints "PORT\n" once listening on 127.0.0.1.
import { createHash } from 'node:crypto';
import http from 'node:http';

const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] }, config: {} }));
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'1'.repeat(64)}`, size: 10240 }],
  }),
);
const chunk = Buffer.alloc(1 << 20);
// A real 10240-byte tar: one empty file "f" (a ustar header, then the end-of-archive blocks and padding).
const tar = Buffer.alloc(10240);
tar.write('f', 0);
tar.write('0000644\0', 100);
tar.write('0000000\0', 108);
tar.write('0000000\0', 116);
tar.write('00000000000\0', 124);
tar.write('00000000000\0', 136);
tar.write('0', 156);
tar.write('ustar\0', 257);
tar.write('00', 263);
tar.fill(' ', 148, 156);
let sum = 0;
for (let i = 0; i < 512; i++) sum += tar[i];
tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
const smallConfig = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(tar)] }, config: {} }));
const lying = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(smallConfig), size: smallConfig.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(tar), size: 100 }],
  }),
);
const blobs = new Map([
  [sha(config), config],
  [sha(smallConfig), smallConfig],
  [sha(tar), tar],
]);

const server = http.createServer((req, res) => {
  const m = /^\/v2\/([a-z]+)\/(manifests|blobs)\/(.+)$/.exec(req.url ?? '');
  if (req.url === '/v2/' || req.url === '/v2') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' });
    return res.end('{}');
  }
  if (!m) return res.writeHead(404).end();
  const [, repo, kind, ref] = m;
  if (repo === 'silent') return; // never answered
  if (kind === 'manifests' && repo === 'html') {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    return res.end(req.method === 'HEAD' ? undefined : '<html><body>Welcome</body></html>');
  }
  if (kind === 'manifests') {
    const m = repo === 'wrongsize' ? lying : manifest;
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Docker-Content-Digest': sha(m), 'Content-Length': m.length });
    return res.end(req.method === 'HEAD' ? undefined : m);
  }
  const blob = blobs.get(ref);
  if (blob) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.length });
    return res.end(req.method === 'HEAD' ? undefined : blob);
  }
  // The layer: bytes for ever (chunked), as fast as the reader takes them, until it hangs up.
  res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  if (req.method === 'HEAD') return res.end();
  const more = () => {
    while (res.write(chunk)) if (res.destroyed) return;
    res.once('drain', more);
  };
  res.on('close', () => res.removeAllListeners('drain'));
  more();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
