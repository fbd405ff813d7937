// State of the Push dialog: the destination (prefilled from the one the project
// pushed to last), TLS and credentials (never stored: they live in this
// dialog's state only and are dropped on close), and each blob's progress as
// the host's push.blob events arrive, then the manifest digest.
import { create } from 'zustand';
import type { Response } from '../../shared/contract';
import { api } from './api';

/** copying, then uploaded / mounted / skipped (already there) / copied. */
export type BlobState = 'copying' | Response<'image.push'>['blobs'][number]['status'];

export interface PushState {
  open: boolean;
  dest: string;
  skipTls: boolean;
  user: string;
  password: string;
  pushing: boolean;
  /** Each blob's state: as events arrive, then as the reply says. */
  blobs: { digest: string; status: BlobState; role?: 'layer' | 'config' }[];
  result?: Response<'image.push'>;
  error?: string;
  show(): Promise<void>;
  close(): void;
  update(p: Partial<Pick<PushState, 'dest' | 'skipTls' | 'user' | 'password'>>): void;
  push(): Promise<void>;
}

/** What a person reads for a blob's state. */
export const BLOB_WORDS: Record<BlobState, string> = {
  copying: 'sending…',
  uploaded: 'uploaded',
  mounted: 'mounted from another repository',
  skipped: 'already there',
  downloaded: 'downloaded',
  copied: 'copied',
};

export const usePush = create<PushState>((set, get) => ({
  open: false,
  dest: '',
  skipTls: false,
  user: '',
  password: '',
  pushing: false,
  blobs: [],
  async show() {
    set({ open: true, blobs: [], result: undefined, error: undefined, user: '', password: '' });
    try {
      const { dest } = await api.request({ cmd: 'image.pushDestination' });
      // Only fill it in if nothing was typed meanwhile.
      if (get().open && !get().dest) set({ dest });
    } catch (e) {
      set({ error: (e as Error).message });
    }
  },
  close() {
    if (get().pushing) return;
    set({ open: false, user: '', password: '' });
  },
  update(p) {
    set(p);
  },
  async push() {
    const { dest, skipTls, user, password, pushing } = get();
    if (pushing) return;
    if (!dest.trim()) return set({ error: 'Type a destination, e.g. docker://REGISTRY/NAME:TAG' });
    if (password && !user.trim()) return set({ error: 'A password needs a user name' });
    set({ pushing: true, blobs: [], result: undefined, error: undefined });
    try {
      const result = await api.request({
        cmd: 'image.push',
        dest: dest.trim(),
        ...(skipTls ? { tlsVerify: false } : {}),
        ...(user.trim() ? { creds: `${user.trim()}:${password}` } : {}),
      });
      // The reply is the final word on each blob (and says which is the config).
      set({ result, blobs: result.blobs.map((b) => ({ digest: b.digest, status: b.status, role: b.role })) });
    } catch (e) {
      // Blobs still "sending…" were not sent: only finished rows stay.
      set((s) => ({ error: (e as Error).message, blobs: s.blobs.filter((b) => b.status !== 'copying') }));
    } finally {
      set({ pushing: false });
    }
  },
}));

api.onEvent((e) => {
  if (e.event !== 'push.blob' || !usePush.getState().pushing) return;
  usePush.setState((s) => {
    const i = s.blobs.findIndex((b) => b.digest === e.digest);
    const row = { digest: e.digest, status: e.status };
    return { blobs: i === -1 ? [...s.blobs, row] : s.blobs.map((b, j) => (j === i ? { ...b, ...row } : b)) };
  });
});
