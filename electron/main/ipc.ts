// The only module that touches ipcMain (GitHub Desktop's rule): every message
// comes from our own page's main frame, is validated by the engine session
// against the contract, and is answered as {result} or {error}.
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { CHANNEL, type Answer } from '../../shared/contract';
import type { EngineSession } from '../host/session';

export function serveContract(win: BrowserWindow, engine: EngineSession): () => void {
  const handler = async (event: IpcMainInvokeEvent, request: unknown): Promise<Answer> => {
    const frame = event.senderFrame;
    if (event.sender !== win.webContents || !frame || frame !== win.webContents.mainFrame || !frame.url.startsWith('file://')) {
      return { error: { message: 'refused: the message did not come from the Scratchyard window' } };
    }
    try {
      return { result: await engine.handle(request) };
    } catch (e) {
      return { error: { message: e instanceof Error ? e.message : String(e) } };
    }
  };
  ipcMain.handle(CHANNEL, handler);
  return () => ipcMain.removeHandler(CHANNEL);
}
