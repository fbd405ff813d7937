// The run dialog's parsing (renderer/src/runFlags.ts): a command line split as
// sh splits it, env lines, and the contract's checks reported at their field.
import { describe, expect, it } from 'vitest';
import { EMPTY_FORM, fieldOfRefusal, flagSummary, parseEnvLines, requestOfForm, shellJoin, shellSplit, SplitError } from '../../renderer/src/runFlags';

describe('shellSplit', () => {
  it('splits at blanks, groups quoted words, keeps backslash-escaped characters', () => {
    expect(shellSplit('  sh -c  "echo $HOME; id"  ')).toEqual(['sh', '-c', 'echo $HOME; id']);
    expect(shellSplit(`printf '%s\\n' "a \\"b\\"" c\\ d ''`)).toEqual(['printf', '%s\\n', 'a "b"', 'c d', '']);
    expect(shellSplit(`a'b'"c"d`)).toEqual(['abcd']);
    expect(shellSplit('')).toEqual([]);
  });

  it('refuses an unclosed quote or a lone trailing backslash, saying where', () => {
    expect(() => shellSplit(`echo "hi`)).toThrow(new SplitError('a " opened at character 6 is not closed'));
    expect(() => shellSplit(`echo 'hi`)).toThrow(/' opened at character 6/);
    expect(() => shellSplit('echo \\')).toThrow(/lone backslash/);
  });

  it('shellJoin reads back the same argv', () => {
    const argv = ['/usr/bin/python3', '-c', "import json, ssl; print('x')", 'a b', '', 'plain-1.0/x'];
    expect(shellSplit(shellJoin(argv))).toEqual(argv);
    expect(shellJoin(['ls', '-l', '/bin'])).toBe('ls -l /bin');
  });
});

describe('parseEnvLines', () => {
  it('reads NAME=value lines, values keep = and spaces, comments and blanks skipped, the last NAME wins', () => {
    expect(parseEnvLines('A=1\n\n# note\nB=x=y z\r\nA=2\n')).toEqual({ env: { A: '2', B: 'x=y z' } });
  });
  it('names the line without a NAME=', () => {
    expect(parseEnvLines('A=1\nJUSTNAME\n').problem).toBe('line 2: expected NAME=value, got "JUSTNAME"');
    expect(parseEnvLines('=v').problem).toMatch(/^line 1:/);
  });
});

describe('requestOfForm', () => {
  it('turns the fields into run.start args and contract flags', () => {
    const r = requestOfForm({ ...EMPTY_FORM, args: `-c 'env; id'`, entrypoint: '/bin/sh', env: 'GREETING=hi there', user: '1000:1000', workdir: '/tmp', network: 'host', timeout: '2.5' });
    expect(r.errors).toEqual({});
    expect(r.args).toEqual(['-c', 'env; id']);
    expect(r.flags).toEqual({ entrypoint: '/bin/sh', env: { GREETING: 'hi there' }, user: '1000:1000', workdir: '/tmp', network: 'host', timeoutS: 2.5 });
    expect(flagSummary(r.args, r.flags)).toBe(`--entrypoint /bin/sh -e 'GREETING=hi there' --user 1000:1000 --workdir /tmp --network host --timeout 2.5 -- -c 'env; id'`);
  });

  it('an empty form asks for nothing: the image config as it is', () => {
    expect(requestOfForm(EMPTY_FORM)).toEqual({ args: [], flags: {}, errors: {} });
  });

  it("the contract's refusals land at their field", () => {
    const r = requestOfForm({ ...EMPTY_FORM, user: 'ava smith', workdir: 'relative/dir', env: 'BAD NAME=1', timeout: '-3', args: 'echo "x' });
    expect(r.errors.user).toMatch(/expected a user/);
    expect(r.errors.workdir).toMatch(/absolute path inside the image/);
    expect(r.errors.env).toMatch(/^BAD NAME: expected an environment variable name/);
    expect(r.errors.timeout).toBe('expected a number of seconds above 0, got "-3"');
    expect(r.errors.args).toMatch(/not closed/);
    expect(r.flags).toEqual({});
  });
});

describe('fieldOfRefusal', () => {
  it("maps the engine's message to the field it names", () => {
    expect(fieldOfRefusal('invalid request: flags.user: expected a user')).toEqual({ field: 'user', message: 'expected a user' });
    expect(fieldOfRefusal('invalid request: flags.env.BAD NAME: expected a name; flags.user: x')).toEqual({ field: 'env', message: 'BAD NAME: expected a name' });
    expect(fieldOfRefusal('invalid request: flags.timeoutS: Number must be greater than 0')).toEqual({ field: 'timeout', message: 'Number must be greater than 0' });
    expect(fieldOfRefusal('nothing built yet: press Build')).toBeUndefined();
  });
});

describe('ports and the probe', () => {
  it('reads several -p entries and a probe with its timeout, as docker words in the summary', () => {
    const r = requestOfForm({ ...EMPTY_FORM, ports: '-p 8080:80, 8053:53/udp', probe: 'wget -qO- http://127.0.0.1:8080/', probeTimeout: '5' });
    expect(r.errors).toEqual({});
    expect(r.flags).toEqual({ ports: ['8080:80', '8053:53/udp'], probe: { command: 'wget -qO- http://127.0.0.1:8080/', timeoutS: 5 } });
    expect(flagSummary(r.args, r.flags)).toBe(`-p 8080:80 -p 8053:53/udp --probe 'wget -qO- http://127.0.0.1:8080/' --probe-timeout 5`);
  });

  it('refuses a bad port naming it, at the Ports field; a probe timeout without a probe; ports with a network', () => {
    const r = requestOfForm({ ...EMPTY_FORM, ports: '8080:80 80:abc', probeTimeout: 'soon' });
    expect(r.errors.ports).toMatch(/^"80:abc": expected HOST:CONTAINER/);
    expect(r.errors.probeTimeout).toBe('expected a number of seconds above 0, got "soon"');
    expect(requestOfForm({ ...EMPTY_FORM, probeTimeout: '3' }).errors.probeTimeout).toBe('only with a probe command');
    expect(requestOfForm({ ...EMPTY_FORM, ports: '8080:80', network: 'host' }).errors.ports).toMatch(/cannot go with network host/);
    expect(requestOfForm({ ...EMPTY_FORM, probe: 'x', probeTimeout: '99999' }).errors.probeTimeout).toMatch(/3600/);
  });

  it("maps the engine's refusals of ports and the probe to their fields", () => {
    expect(fieldOfRefusal('invalid request: flags.ports.1: expected HOST:CONTAINER')).toEqual({ field: 'ports', message: 'entry 2: expected HOST:CONTAINER' });
    expect(fieldOfRefusal('invalid request: flags.probe.timeoutS: too big')).toEqual({ field: 'probeTimeout', message: 'too big' });
    expect(fieldOfRefusal('invalid request: flags.probe.command: is empty')).toEqual({ field: 'probe', message: 'is empty' });
  });
});
