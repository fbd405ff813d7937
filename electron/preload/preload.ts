// Exposes exactly the contract to the page, and nothing else: no ipcRenderer,
// no Node. Runs sandboxed, so it is bundled into one file.
import { contextBridge, ipcRenderer } from 'electron';
import { CHANNEL, type EngineApi, type EngineEvent, type Answer } from '../../shared/contract';

const api: EngineApi = {
  async request(req) {
    const reply = (await ipcRenderer.invoke(CHANNEL, req)) as Answer;
    if ('error' in reply) throw new Error(reply.error.message);
    return reply.result as never;
  },
  onEvent(listener) {
    const handler = (_e: unknown, event: EngineEvent) => listener(event);
    ipcRenderer.on('scratchyard:event', handler);
    return () => void ipcRenderer.off('scratchyard:event', handler);
  },
};

contextBridge.exposeInMainWorld('scratchyard', api);
