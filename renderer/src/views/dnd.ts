// Native HTML5 drag-and-drop: what is being dragged travels as a custom MIME
// type, so a drop target can tell a palette item, a layer, a source and the
// desktop's files apart during dragover (when only the types are readable).
import type { DragEvent } from 'react';
import { targetLayer, useCompose, type Dropped } from '../compose';

export const MIME = {
  palette: 'application/x-scratchyard-palette',
  layer: 'application/x-scratchyard-layer',
  source: 'application/x-scratchyard-source',
} as const;

declare global {
  interface Window {
    /** Electron's preload: the host path of a dropped File (webUtils.getPathForFile). */
    scratchyardFiles?: { pathFor(file: File): string };
  }
}

export const carries = (e: DragEvent, ...types: string[]) => types.some((t) => e.dataTransfer.types.includes(t));

/**
 * The desktop's files and folders of a drop. Entries and Files must be taken
 * while the event runs (the DataTransfer is emptied after it); folders are then
 * walked asynchronously.
 */
export function droppedOf(dt: DataTransfer): Promise<Dropped[]> {
  const taken: { entry: FileSystemEntry | null; file: File | null }[] = [];
  for (const item of Array.from(dt.items ?? [])) {
    if (item.kind !== 'file') continue;
    taken.push({ entry: item.webkitGetAsEntry?.() ?? null, file: item.getAsFile() });
  }
  if (!taken.length) for (const file of Array.from(dt.files)) taken.push({ entry: null, file });
  return Promise.all(
    taken.map(async ({ entry, file }) => {
      const hostPath = file ? window.scratchyardFiles?.pathFor(file) || undefined : undefined;
      if (entry?.isDirectory) return { name: entry.name, folder: true, files: await walk(entry as FileSystemDirectoryEntry, entry.name), hostPath };
      const name = file?.name ?? entry?.name ?? 'file';
      return { name, folder: false, files: file ? [{ path: name, file }] : [], hostPath };
    }),
  );
}

async function walk(dir: FileSystemDirectoryEntry, prefix: string): Promise<{ path: string; file: File }[]> {
  const reader = dir.createReader();
  const out: { path: string; file: File }[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return out;
    for (const e of batch) {
      if (e.isDirectory) out.push(...(await walk(e as FileSystemDirectoryEntry, `${prefix}/${e.name}`)));
      else out.push({ path: `${prefix}/${e.name}`, file: await new Promise<File>((resolve, reject) => (e as FileSystemFileEntry).file(resolve, reject)) });
    }
  }
}

/** Props that make an explorer folder a drop target: palette items and desktop files land in it. */
export function folderDrop(folder: string, onOver?: (over: boolean) => void) {
  return {
    onDragOver(e: DragEvent) {
      if (!carries(e, MIME.palette, 'Files')) return;
      e.preventDefault();
      e.stopPropagation();
      e.dataTransfer.dropEffect = 'copy';
      onOver?.(true);
    },
    onDragLeave() {
      onOver?.(false);
    },
    onDrop(e: DragEvent) {
      if (!carries(e, MIME.palette, 'Files')) return;
      e.preventDefault();
      e.stopPropagation();
      onOver?.(false);
      const layer = targetLayer();
      const id = e.dataTransfer.getData(MIME.palette);
      if (id) useCompose.getState().dropPalette(id, layer, folder);
      else void droppedOf(e.dataTransfer).then((items) => useCompose.getState().dropFiles(items, layer, folder));
    },
  };
}
