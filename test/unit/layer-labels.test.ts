// Layer labels (issue 15): the commands docker, buildah and BuildKit record in
// an image's history, cleaned to what the Dockerfile said.
import { describe, expect, it } from 'vitest';
import { cleanCommand, recipeLayerLabel } from '../../electron/engine/inspect';

describe('cleanCommand', () => {
  it('drops the classic builder\'s /bin/sh -c #(nop) and shortens file: digests', () => {
    expect(cleanCommand('/bin/sh -c #(nop) ADD file:d0b2e1f6cc6e8a3e3f39b3a9f72d6b4c1d4b8d6aab1d86e4bda8d0a4f8f9e5a7 in / ')).toBe('ADD file:d0b2e1f6cc6e… in /');
    expect(cleanCommand('/bin/sh -c #(nop)  CMD ["sh"]')).toBe('CMD ["sh"]');
    expect(cleanCommand('/bin/sh -c #(nop) COPY dir:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef in /app ')).toBe('COPY dir:0123456789ab… in /app');
  });

  it('names a shell-wrapped command RUN, whatever the shell and its options', () => {
    expect(cleanCommand('/bin/sh -c apk add --no-cache curl')).toBe('RUN apk add --no-cache curl');
    expect(cleanCommand('/bin/bash -o pipefail -c make   &&\n\tmake install')).toBe('RUN make && make install');
    expect(cleanCommand('sh -c echo hi')).toBe('RUN echo hi');
  });

  it('cleans BuildKit\'s form and the build-arg prefix', () => {
    expect(cleanCommand('RUN /bin/sh -c echo hello > /hello.txt # buildkit')).toBe('RUN echo hello > /hello.txt');
    expect(cleanCommand('COPY app /app # buildkit')).toBe('COPY app /app');
    expect(cleanCommand('|2 VERSION=1.2 ARCH="x 86" /bin/sh -c make')).toBe('RUN make');
    expect(cleanCommand('RUN |1 V=2 /bin/sh -c make # buildkit')).toBe('RUN make');
  });

  it('leaves a command it does not know as it is', () => {
    expect(cleanCommand('scratchyard: busybox')).toBe('scratchyard: busybox');
  });
});

describe('recipeLayerLabel', () => {
  it('is the layer name and its sources, repeated kinds counted', () => {
    expect(recipeLayerLabel('app', ['busybox', 'file', 'file'])).toBe('app: busybox, file ×2');
    expect(recipeLayerLabel('empty', [])).toBe('empty: no sources');
  });
});
