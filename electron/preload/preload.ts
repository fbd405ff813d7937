// Exposes exactly the contract to the page, and nothing else: no ipcRenderer,
// no Node. Runs sandboxed, so it is bundled into one file.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { CHANNEL, PICK_CHANNEL, type EngineApi, type EngineEvent, type Answer } from '../../shared/contract';

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
  // The native open dialog (checked in main against pickRequestSchema).
  async pickPath(req) {
    const reply = (await ipcRenderer.invoke(PICK_CHANNEL, req)) as Answer;
    if ('error' in reply) throw new Error(reply.error.message);
    return reply.result as string | null;
  },
};

contextBridge.exposeInMainWorld('scratchyard', api);

// Desktop drops: the host path of a dropped File, so the app can reference a
// project file in place instead of copying its bytes. Nothing else of the file system.
contextBridge.exposeInMainWorld('scratchyardFiles', { pathFor: (file: File) => webUtils.getPathForFile(file) });
