// Component tests talk to a real EngineSession in the same process, through
// the same EngineApi the preload exposes (requests, events), without a window.
import path from 'node:path';
import type { EngineApi, EngineEvent } from '../../shared/contract';
import { EngineSession } from '../../electron/host/session';

export function sessionBridge(project: string, cacheDir: string): { session: EngineSession; bridge: EngineApi } {
  const listeners = new Set<(e: EngineEvent) => void>();
  const session = new EngineSession({ project, cacheDir, configDir: path.join(cacheDir, 'config'), emit: (e) => listeners.forEach((l) => l(e)) });
  const bridge: EngineApi = {
    request: (req) => session.handle(req) as never,
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { session, bridge };
}
