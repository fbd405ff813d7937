// What runs the image: runs and shells in terminals (PTYs whose bytes go out
// as events), Run everywhere, the host-source tracer, doctor and push.
import type { EngineEvent, Response } from '../../../shared/contract';
import { doctor } from '../../engine/entry/doctor';
import { imageOf } from '../../engine/entry/run';
import { traceHostSource } from '../../engine/entry/trace';
import type { BuiltImage, TerminalCommand } from '../../engine/run/runner';
import { spawnPty, type PtySession } from '../../engine/tools/pty';
import { pushBuilt, pushDestination } from '../push';
import { compareRunners, runFlagsOf, terminalCommand } from '../runners';
import { runBuild } from './build';
import type { Handlers } from './handler';
import type { HostState } from './state';

/** The last build as the runners take it (built first when this session has none: a restored one is cached). */
async function builtImage(state: HostState): Promise<BuiltImage> {
  if (!state.result) {
    const r = await runBuild(state);
    state.emit({ event: 'build.done', reply: r });
    if (!r.ok) throw new Error(`the build failed: ${r.error}`);
  }
  return imageOf(state.built(), state.cacheDir);
}

/** A terminal running a ready command (a run, a shell, a VM console, docker run -it). */
async function startTerminal(state: HostState, t: { command: TerminalCommand; release: () => Promise<void> }, cols: number, rows: number): Promise<Response<'run.start'>> {
  const id = `t${state.nextTerm++}`;
  const t0 = performance.now();
  // Whatever fails before the terminal exists (no PTY) releases what was prepared (the chroot's folder).
  const session = await spawnPty({
    ...t.command,
    env: t.command.env ?? ({ ...process.env } as Record<string, string>),
    cols,
    rows,
    onData: (data) => state.emit({ event: 'term.data', id, data }),
    onExit: (code) => {
      state.terms.delete(id);
      void t.release();
      state.emit({ event: 'term.exit', id, code, ms: Math.round(performance.now() - t0) });
    },
  }).catch(async (e: unknown) => {
    await t.release();
    throw e;
  });
  state.terms.set(id, session);
  return { id };
}

function term(state: HostState, id: string): PtySession {
  const t = state.terms.get(id);
  if (!t) throw new Error(`no terminal ${id}`);
  return t;
}

export const terminalHandlers: Handlers<'run.start' | 'shell.start' | 'runs.compare' | 'term.write' | 'term.resize' | 'term.close' | 'trace.run' | 'doctor' | 'image.push' | 'image.pushDestination'> = {
  'run.start': async (req, state) => {
    state.writable();
    return startTerminal(state, await terminalCommand(await builtImage(state), req.runner, req.args, false, runFlagsOf(req.flags)), req.cols, req.rows);
  },
  'shell.start': async (req, state) => {
    state.writable();
    if (req.runner === 'vm') return startTerminal(state, await terminalCommand(await builtImage(state), 'vm', [], true), req.cols, req.rows);
    // A shell replaces the entrypoint too, as `docker run --entrypoint /bin/sh` would, and stays root to look around.
    return startTerminal(state, await terminalCommand(await builtImage(state), 'chroot', ['/bin/sh'], false, { entrypoint: '', user: '0' }), req.cols, req.rows);
  },
  'runs.compare': async (req, state) => {
    state.writable();
    const progress = req.run !== undefined ? { run: req.run, emit: (e: EngineEvent) => state.emit(e) } : undefined;
    return compareRunners(await builtImage(state), req.runners, req.args, state.lifetime.signal, req.flags, progress);
  },
  'term.write': (req, state) => {
    term(state, req.id).write(req.data);
    return {};
  },
  'term.resize': (req, state) => {
    term(state, req.id).resize(req.cols, req.rows);
    return {};
  },
  'term.close': (req, state) => {
    term(state, req.id).kill();
    return {};
  },
  'trace.run': (req, state) => {
    state.writable();
    return traceHostSource({ project: state.projectPath, cacheDir: state.cacheDir, layer: req.layer, source: req.source, signal: state.lifetime.signal, log: (line) => state.emit({ event: 'log', line }) });
  },
  doctor: () => doctor(),
  'image.push': async (req, state) => {
    state.writable();
    if (!state.result && state.restored) await builtImage(state);
    return pushBuilt(state.built(), state.cacheDir, req, (e) => state.emit(e), state.lifetime.signal);
  },
  'image.pushDestination': async (_req, state) => {
    if (!state.result && state.restored) await builtImage(state);
    return { dest: await pushDestination(state.cacheDir, state.built()) };
  },
};
