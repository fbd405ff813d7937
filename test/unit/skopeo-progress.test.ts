// The skopeo output parser on output recorded from real runs (skopeo 1.9,
// docker-registry 2.8, `skopeo --debug copy`, stdout then stderr).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobOutcomes, parseSkopeoOutput, SkopeoProgressParser } from '../../electron/engine/oci/skopeo-progress';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/skopeo', `${name}.log`), 'utf8');
const LAYER_1 = '3decd6837ddb5c2e711fa5d1be21102f2adf742ff59f38d3682c8d1adb26916c';
const LAYER_2 = '267314a5a7482afcf575f28f9b5b32b5f9289812297be7425f3405af2949f59f';
const CONFIG = 'c1ef75e66eecc5ccdffe47d29825d278bd82073b240da1b0996743ede99b61d9';

const outcomes = (name: string) => blobOutcomes(parseSkopeoOutput(fixture(name))).map((b) => `${b.role} ${b.digest.slice(0, 6)} ${b.status}`);

describe('skopeo copy progress', () => {
  it('a push to an empty registry uploads every blob', () => {
    expect(outcomes('push-fresh')).toEqual([`layer ${LAYER_1.slice(0, 6)} uploaded`, `layer ${LAYER_2.slice(0, 6)} uploaded`, `config ${CONFIG.slice(0, 6)} uploaded`]);
  });

  it('a second push skips every blob, the config too', () => {
    expect(outcomes('push-again')).toEqual([`layer ${LAYER_1.slice(0, 6)} skipped`, `layer ${LAYER_2.slice(0, 6)} skipped`, `config ${CONFIG.slice(0, 6)} skipped`]);
  });

  it('a push to another repository of the same registry mounts the layers it has', () => {
    expect(outcomes('push-mount')).toEqual([`layer ${LAYER_1.slice(0, 6)} mounted`, `layer ${LAYER_2.slice(0, 6)} mounted`, `config ${CONFIG.slice(0, 6)} uploaded`]);
  });

  it('a pull downloads, and a second pull into the same layout skips what it holds', () => {
    expect(outcomes('pull-first')).toEqual([`layer ${LAYER_1.slice(0, 6)} downloaded`, `layer ${LAYER_2.slice(0, 6)} downloaded`, `config ${CONFIG.slice(0, 6)} downloaded`]);
    expect(outcomes('pull-again').slice(0, 2).sort()).toEqual([`layer ${LAYER_2.slice(0, 6)} skipped`, `layer ${LAYER_1.slice(0, 6)} skipped`].sort());
  });

  it('sees the manifest written, and unquotes a fatal message', () => {
    const events = parseSkopeoOutput(fixture('push-fresh'));
    expect(events.filter((e) => e.kind === 'manifest')).toHaveLength(1);
    const p = new SkopeoProgressParser();
    const fatal = p.line('time="2026-11-28T18:54:34Z" level=fatal msg="Error parsing image name \\"docker://127.0.0.1:5078/nothere:1\\": reading manifest 1 in 127.0.0.1:5078/nothere: manifest unknown: manifest unknown"');
    expect(fatal).toEqual([{ kind: 'fatal', message: 'Error parsing image name "docker://127.0.0.1:5078/nothere:1": reading manifest 1 in 127.0.0.1:5078/nothere: manifest unknown: manifest unknown' }]);
  });

  it('ignores what is not a progress line', () => {
    const p = new SkopeoProgressParser();
    expect(p.line('Getting image source signatures')).toEqual([]);
    expect(p.line('Copying blob sha256:short')).toEqual([]);
    expect(p.line('time="x" level=debug msg="... already exists"')).toEqual([]); // no blob being checked
  });
});
