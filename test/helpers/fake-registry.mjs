// A hostile registry for tests, in a process of its own (tests run the CLI
// with spawnSync, which would stall a server in the test's own event loop).
// Just enough of the distribution API for skopeo: /v2/, manifests by tag or
// digest, blobs. Repositories:
//   endless  a one-layer image whose layer blob never ends (its manifest says 10240 bytes)
//   silent   every request under it is accepted and never answered
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

const server = http.createServer((req, res) => {
  const m = /^\/v2\/([a-z]+)\/(manifests|blobs)\/(.+)$/.exec(req.url ?? '');
  if (req.url === '/v2/' || req.url === '/v2') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' });
    return res.end('{}');
  }
  if (!m) return res.writeHead(404).end();
  const [, repo, kind, ref] = m;
  if (repo === 'silent') return; // never answered
  if (kind === 'manifests') {
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Docker-Content-Digest': sha(manifest), 'Content-Length': manifest.length });
    return res.end(req.method === 'HEAD' ? undefined : manifest);
  }
  if (ref === sha(config)) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': config.length });
    return res.end(req.method === 'HEAD' ? undefined : config);
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
