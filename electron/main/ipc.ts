// The only module that touches ipcMain (GitHub Desktop's rule): every message
// comes from our own page's main frame, is validated (the engine session checks
// requests against the contract; this module checks native-dialog asks), and is
// answered as {result} or {error}.
import { dialog, ipcMain, type BrowserWindow, type IpcMainInvokeEvent, type OpenDialogOptions } from 'electron';
import { CHANNEL, PICK_CHANNEL, pickRequestSchema, type Answer, type PickRequest } from '../../shared/contract';
import type { EngineSession } from '../host/session';

export function serveContract(win: BrowserWindow, engine: EngineSession): () => void {
  const fromOurWindow = (event: IpcMainInvokeEvent): boolean => {
    const frame = event.senderFrame;
    return event.sender === win.webContents && !!frame && frame === win.webContents.mainFrame && frame.url.startsWith('file://');
  };
  const answer = (work: (request: unknown) => Promise<unknown>) => async (event: IpcMainInvokeEvent, request: unknown): Promise<Answer> => {
    if (!fromOurWindow(event)) return { error: { message: 'refused: the message did not come from the Scratchyard window' } };
    try {
      return { result: await work(request) };
    } catch (e) {
      return { error: { message: e instanceof Error ? e.message : String(e) } };
    }
  };
  ipcMain.handle(CHANNEL, answer((request) => engine.handle(request)));
  ipcMain.handle(PICK_CHANNEL, answer((request) => pickPath(win, request)));
  return () => {
    ipcMain.removeHandler(CHANNEL);
    ipcMain.removeHandler(PICK_CHANNEL);
  };
}

/** The native open dialog, modal to the window: the path picked, or null when cancelled. */
async function pickPath(win: BrowserWindow, raw: unknown): Promise<string | null> {
  const parsed = pickRequestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
  const req: PickRequest = parsed.data;
  const properties: OpenDialogOptions['properties'] = [req.kind === 'folder' ? 'openDirectory' : 'openFile', 'showHiddenFiles'];
  if (req.folders && req.kind === 'file') properties.push('openDirectory');
  if (req.create) properties.push('createDirectory', 'promptToCreate');
  const r = await dialog.showOpenDialog(win, { title: req.title, properties, ...(req.defaultPath ? { defaultPath: req.defaultPath } : {}), ...(req.filters ? { filters: req.filters } : {}) });
  return r.canceled || !r.filePaths.length ? null : r.filePaths[0];
}
