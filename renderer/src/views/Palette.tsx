// The source palette: drag an item onto a layer or an explorer folder, or
// press its Add button (the keyboard path) to add it to the layer in view
// (the top layer when the whole image is shown).
import { useRef, useState } from 'react';
import { selectedFolder, targetLayer, useCompose, type DropMode } from '../compose';
import { NEW_STAGE, PALETTE } from '../recipeEdits';
import { useStore } from '../store';
import { MIME } from './dnd';
import { rovingKeyDown } from './roving';

export function Palette() {
  const project = useStore((s) => s.project);
  const { dropPalette, dropFiles, dropMode, setDropMode } = useCompose();
  const picker = useRef<HTMLInputElement>(null);
  const [current, setCurrent] = useState(0);
  if (!project) return null;
  const items = [...PALETTE, { id: NEW_STAGE, label: 'New stage', hint: 'a build-only tree (Debian base) for tools and copies' }];
  return (
    <section className="palette" aria-label="Palette">
      <h2>Sources</h2>
      <p className="muted hint">Drag onto a layer or an explorer folder, or press + (adds to the layer in view, into the folder selected in the explorer).</p>
      {/* One tab stop for the list: Up, Down, Home and End move between its Add buttons. */}
      <ul role="list" aria-label="Sources" className="palette-list" onKeyDown={rovingKeyDown('button.icon', 'vertical')} onFocus={(e) => setCurrent(Math.max(0, items.findIndex((k) => e.target.dataset.item === k.id)))}>
        {items.map((k, i) => (
          <li
            key={k.id}
            draggable
            title={k.hint}
            onDragStart={(e) => {
              e.dataTransfer.setData(MIME.palette, k.id);
              e.dataTransfer.effectAllowed = 'copy';
            }}
          >
            <span className="grip" aria-hidden>
              ⋮⋮
            </span>
            <span className="label">{k.label}</span>
            <button
              className="icon"
              data-item={k.id}
              tabIndex={i === current ? 0 : -1}
              aria-label={k.id === NEW_STAGE ? 'New stage' : `Add ${k.label}`}
              title={k.id === NEW_STAGE ? 'Add a new build-only stage' : `Add ${k.label} to the layer in view`}
              onClick={() => dropPalette(k.id, targetLayer(), selectedFolder())}
            >
              +
            </button>
          </li>
        ))}
      </ul>
      <div className="add-files">
        {/* The keyboard path for desktop drops: the same files, picked in a dialog. */}
        <button className="small" onClick={() => picker.current?.click()}>
          Add files…
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          aria-label="Files to add"
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = '';
            void dropFiles(
              files.map((file) => ({ name: file.name, folder: false, files: [{ path: file.name, file }], hostPath: window.scratchyardFiles?.pathFor(file) || undefined })),
              targetLayer(),
              selectedFolder(),
            );
          }}
        />
      </div>
      <label className="drop-mode">
        Dropped files{' '}
        <select aria-label="Dropped files" value={dropMode} onChange={(e) => setDropMode(e.target.value as DropMode)}>
          <option value="copy">copy into the project</option>
          <option value="reference">reference in place</option>
        </select>
      </label>
    </section>
  );
}
