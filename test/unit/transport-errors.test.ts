// skopeo's fatal messages (recorded from skopeo 1.9 against docker-registry 2.8)
// turned into sentences that name the reference and say what to do.
import { describe, expect, it } from 'vitest';
import { explainText } from '../../electron/engine/oci/transport';

const REF = 'docker://127.0.0.1:5078/nothere:1';

describe('transport errors', () => {
  it('says which failure it was, names the reference, and keeps skopeo\'s words after', () => {
    const cases: [string, string][] = [
      ['Error parsing image name "docker://127.0.0.1:5078/nothere:1": reading manifest 1 in 127.0.0.1:5078/nothere: manifest unknown: manifest unknown', 'no such image in 127.0.0.1:5078'],
      ['Error parsing image name "docker://127.0.0.1:5079/nothere:1": pinging container registry 127.0.0.1:5079: Get "http://127.0.0.1:5079/v2/": dial tcp 127.0.0.1:5079: connect: connection refused', 'cannot connect to 127.0.0.1:5079 (connection refused)'],
      ['Error parsing image name "docker://127.0.0.1:5078/hello:1": pinging container registry 127.0.0.1:5078: Get "https://127.0.0.1:5078/v2/": http: server gave HTTP response to HTTPS client', '127.0.0.1:5078 speaks plain HTTP, not HTTPS'],
      ['Error parsing image name "docker://127.0.0.1:45910/x:1": pinging container registry 127.0.0.1:45910: invalid status code from registry 404 (Not Found)', '127.0.0.1:45910 answers HTTP, but not as a registry (its /v2/ said 404)'],
      ['Error parsing image name "docker://127.0.0.1:45911/x:1": pinging container registry 127.0.0.1:45911: Get "http://127.0.0.1:45911/v2/": net/http: HTTP/1.x transport connection broken: malformed HTTP response "SSH-2.0-OpenSSH_9.2"', '127.0.0.1:45911 does not speak HTTP: is the port right?'],
      ['reading manifest 1 in 127.0.0.1:5078/big: exceeded maximum allowed size of 4194304 bytes', 'a manifest or config larger than skopeo reads (4194304 bytes): refused'],
      ['writing blob: happened during read: Digest did not match, expected sha256:3decd6837ddb5c2e711fa5d1be21102f2adf742ff59f38d3682c8d1adb26916c, got sha256:df916142e982fc08f8d03d42b6c26c37a6420d44b1cf341f3820a76a309a4361', 'the blob sha256:3decd6837ddb5c2e711fa5d1be21102f2adf742ff59f38d3682c8d1adb26916c it sent does not match its digest'],
    ];
    for (const [fatal, says] of cases) {
      const m = explainText(REF, fatal);
      expect(m.startsWith(`${REF}: `), m).toBe(true);
      expect(m).toContain(says);
      expect(m).toContain('(skopeo: ');
    }
  });
});
