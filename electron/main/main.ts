// The Electron shell: one window, hardened as the Electron security checklist
// asks, wired to the engine host through the one IPC module. It translates;
// the engine decides.
import { app, BrowserWindow, dialog, session } from 'electron';
import os from 'node:os';
import path from 'node:path';
import { EngineSession } from '../host/session';
import { defaultCacheDir } from '../engine/store/cache';
import { serveContract } from './ipc';

const RENDERER = path.join(__dirname, '..', 'renderer', 'index.html');
const PRELOAD = path.join(__dirname, 'preload.cjs');

function createWindow(project: string): void {
  const win = new BrowserWindow({
    width: 1360,
    height: 900,
    title: 'Scratchyard',
    show: false,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  const engine = new EngineSession({ project, cacheDir: defaultCacheDir(), emit: (e) => win.webContents.send('scratchyard:event', e) });
  const stop = serveContract(win, engine);
  // No navigation, no new windows, no remote content: the app is one local page.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  // The page asks to stay while the recipe has unsaved edits (ComposeBar): Electron shows no prompt of its own.
  win.webContents.on('will-prevent-unload', (e) => {
    const leave = dialog.showMessageBoxSync(win, { type: 'question', buttons: ['Close without saving', 'Cancel'], defaultId: 1, cancelId: 1, message: 'scratchyard.yaml has unsaved changes.', detail: 'Closing loses them.' });
    if (leave === 0) e.preventDefault();
  });
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    stop();
    engine.dispose();
  });
  void win.loadFile(RENDERER);
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

void app.whenReady().then(() => {
  // Every permission (camera, notifications, ...) is refused; nothing is fetched from the network.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !/^(file|devtools):/.test(details.url) }));
  const project = process.argv.find((a, i) => i > 1 && !a.startsWith('-')) ?? path.join(__dirname, '..', '..', 'assets', 'examples', 'hello');
  createWindow(path.resolve(project.replace(/^~/, os.homedir())));
});

app.on('window-all-closed', () => app.quit());
