// Composing edits of scratchyard.yaml: add a source from the palette, move
// layers and sources, new / rename / delete layers and stages. Each takes the
// text and returns the new text; the YAML document is edited node by node, so
// comments travel with the layer or source they sit on and survive elsewhere.
import { isMap, isNode, isSeq, type Document, type YAMLSeq } from 'yaml';
import type { SourceValues } from './recipeText';
import { editYaml } from './yamlLayout';

/** The palette item of a base image by reference: the recipe takes it only as the first source of the first layer. */
export const IMAGE = 'image';

/** What the palette offers: an id, its label, and the source it adds. */
export interface PaletteKind {
  id: string;
  label: string;
  hint: string;
  /** Needs a stage to refer to (the first stage, or a new one). */
  stage?: boolean;
}

export const PALETTE: PaletteKind[] = [
  { id: IMAGE, label: 'Image', hint: 'a base image by reference (docker://…, docker-daemon:…, oci:…); it becomes the first source of the first layer' },
  { id: 'busybox', label: 'Busybox', hint: '/bin/busybox and its applet links' },
  { id: 'host', label: 'Host files', hint: 'host programs at the same paths, with their libraries' },
  { id: 'debian', label: 'Debian base', hint: 'a Debian tree made by mmdebstrap or debootstrap' },
  { id: 'file', label: 'File from text', hint: 'a file whose content is written in the recipe' },
  { id: 'copy', label: 'Folder from the project', hint: 'copy files from the project folder' },
  { id: 'symlink', label: 'Symlink', hint: 'a symbolic link' },
  { id: 'dir', label: 'Folder', hint: 'an empty folder with a mode' },
  { id: 'users', label: 'Users', hint: '/etc/passwd and /etc/group entries' },
  { id: 'remove', label: 'Remove', hint: 'delete paths of the layers below' },
  { id: 'tarball', label: 'Tarball', hint: 'unpack a .tar(.gz/.xz/.zst) from the project' },
  { id: 'run', label: 'Run step', hint: 'a command run inside the image at this point' },
  { id: 'copy-stage', label: 'Copy from a stage', hint: 'paths out of a build-only stage', stage: true },
  { id: 'run-mount', label: 'Run with a stage mount', hint: 'a step that uses a stage\'s tools, leaving no trace', stage: true },
];

/** The palette item that adds a build-only stage rather than a source. */
export const NEW_STAGE = 'stage';

const join = (folder: string, name: string) => (folder === '/' ? `/${name}` : `${folder.replace(/\/+$/, '')}/${name}`);

/**
 * The source a palette item adds, with defaults that validate. `folder` is the
 * explorer folder it was dropped on (its destination), `stage` the stage that
 * stage-related kinds refer to.
 */
export function defaultSource(id: string, folder = '/', stage = 'tools'): SourceValues {
  switch (id) {
    case IMAGE:
      return { kind: 'image', ref: 'docker://docker.io/library/debian:bookworm-slim' };
    case 'busybox':
      return { kind: 'busybox' };
    case 'host':
      // Host files keep their host paths: a folder drop cannot move them.
      return { kind: 'host', paths: ['/usr/bin/env'], libs: true };
    case 'debian':
      return { kind: 'debian', suite: 'bookworm', variant: 'minbase' };
    case 'file':
      return { kind: 'file', path: join(folder, 'new-file'), mode: '0644', content: 'hello\n' };
    case 'copy':
      return { kind: 'copy', src: 'files', dest: folder };
    case 'symlink':
      return { kind: 'symlink', path: join(folder, 'link'), target: '/bin/busybox' };
    case 'dir':
      return { kind: 'dir', path: join(folder, 'new-folder'), mode: '0755' };
    case 'users':
      return { kind: 'users', users: [{ name: 'app', uid: 1000 }] };
    case 'remove':
      return { kind: 'remove', paths: [folder === '/' ? '/usr/share/doc' : folder] };
    case 'tarball':
      return { kind: 'tarball', src: 'rootfs.tar', dest: folder };
    case 'run':
      return { kind: 'run', command: 'echo ready > ready.txt', workdir: folder };
    case 'copy-stage':
      return { kind: 'copy', from: stage, src: '/etc/os-release', dest: `${folder.replace(/\/+$/, '')}/` };
    case 'run-mount':
      return { kind: 'run', command: 'ls /.tools/bin > tools.txt', workdir: folder, mounts: [{ stage, at: '/.tools' }] };
    default:
      throw new Error(`unknown palette item "${id}"`);
  }
}

/** One edit of the document; the lines it did not touch stay as the user wrote them. */
function edit(text: string, change: (doc: Document) => void): string {
  return editYaml(text, change, true);
}

function seqAt(doc: Document, path: (string | number)[], what: string): YAMLSeq {
  const node = doc.getIn(path, true);
  if (!isSeq(node)) throw new Error(`${what} is not a list in the recipe`);
  return node;
}

/**
 * Take item `i` out of a list. The parser hangs a comment above the first item
 * on the list itself; it belongs to the item, so it leaves with it.
 */
function takeItem(seq: YAMLSeq, i: number): YAMLSeq['items'][number] {
  const [item] = seq.items.splice(i, 1);
  if (i === 0 && seq.commentBefore && isNode(item)) {
    const node = item;
    node.commentBefore = node.commentBefore ? `${seq.commentBefore}\n${node.commentBefore}` : seq.commentBefore;
    seq.commentBefore = undefined;
  }
  return item;
}

/** An empty list reads back as `[]`, a flow list; written into, it should look like the rest of the file. */
function blockIfEmpty(seq: YAMLSeq): void {
  if (seq.flow && seq.items.length === 0) seq.flow = false;
}

function layerNames(doc: Document): string[] {
  const js = doc.toJS() as { layers?: { name?: unknown }[]; stages?: { name?: unknown }[] } | null;
  return (js?.layers ?? []).map((l) => String(l?.name ?? ''));
}

/** A name like base that no layer has yet: base, base-2, base-3… */
export function freeName(taken: string[], base: string): string {
  if (!taken.includes(base)) return base;
  for (let n = 2; ; n++) if (!taken.includes(`${base}-${n}`)) return `${base}-${n}`;
}

/** Insert a source into a layer (at its end unless `at` is given). */
export function insertSource(text: string, layer: number, source: SourceValues, at?: number): string {
  return edit(text, (doc) => {
    if (!isMap(doc.getIn(['layers', layer], true))) throw new Error(`there is no layer ${layer + 1}`);
    const sources = doc.getIn(['layers', layer, 'sources'], true);
    if (!isSeq(sources)) {
      doc.setIn(['layers', layer, 'sources'], doc.createNode([source]));
      return;
    }
    const node = doc.createNode(source);
    blockIfEmpty(sources);
    if (at === undefined || at >= sources.items.length) sources.items.push(node);
    else sources.items.splice(Math.max(0, at), 0, node);
  });
}

/** Move a layer from one position to another (positions count from the bottom, as the recipe lists them). */
export function moveLayer(text: string, from: number, to: number): string {
  if (from === to) return text;
  return edit(text, (doc) => {
    const layers = seqAt(doc, ['layers'], 'layers');
    if (from < 0 || from >= layers.items.length || to < 0 || to >= layers.items.length) throw new Error('no layer there');
    layers.items.splice(to, 0, takeItem(layers, from));
  });
}

/** Move a source to another layer (its end, or position `at`), or within its layer. */
export function moveSource(text: string, from: [number, number], toLayer: number, at?: number): string {
  return edit(text, (doc) => {
    const src = seqAt(doc, ['layers', from[0], 'sources'], `layers[${from[0]}].sources`);
    if (from[1] < 0 || from[1] >= src.items.length) throw new Error('no source there');
    if (!isMap(doc.getIn(['layers', toLayer], true))) throw new Error(`there is no layer ${toLayer + 1}`);
    const item = takeItem(src, from[1]);
    let dst = doc.getIn(['layers', toLayer, 'sources'], true);
    if (!isSeq(dst)) {
      doc.setIn(['layers', toLayer, 'sources'], doc.createNode([]));
      dst = doc.getIn(['layers', toLayer, 'sources'], true);
    }
    blockIfEmpty(dst as YAMLSeq);
    const items = (dst as YAMLSeq).items;
    if (at === undefined || at >= items.length) items.push(item);
    else items.splice(Math.max(0, at), 0, item);
  });
}

/** A new empty layer on top of the image (or at `at`); returns the text and its name. */
export function addLayer(text: string, base = 'layer', at?: number): { text: string; name: string } {
  let name = base;
  const out = edit(text, (doc) => {
    name = freeName(layerNames(doc), base);
    const node = doc.createNode({ name });
    const layers = doc.getIn(['layers'], true);
    if (!isSeq(layers)) doc.set('layers', doc.createNode([{ name }]));
    else if (at === undefined || at >= layers.items.length) layers.items.push(node);
    else layers.items.splice(Math.max(0, at), 0, node);
  });
  return { text: out, name };
}

/** Rename a layer, and every `diffbase` and `libs.from` that named it. */
export function renameLayer(text: string, index: number, name: string): string {
  return edit(text, (doc) => {
    const names = layerNames(doc);
    const old = names[index];
    if (old === undefined) throw new Error(`there is no layer ${index + 1}`);
    if (names.some((n, i) => n === name && i !== index)) throw new Error(`a layer is already named "${name}"`);
    doc.setIn(['layers', index, 'name'], name);
    names.forEach((_, i) => {
      if (doc.getIn(['layers', i, 'diffbase']) === old) doc.setIn(['layers', i, 'diffbase'], name);
      const sources = doc.getIn(['layers', i, 'sources'], true);
      if (!isSeq(sources)) return;
      sources.items.forEach((_s, j) => {
        const from = doc.getIn(['layers', i, 'sources', j, 'from'], true);
        if (doc.getIn(['layers', i, 'sources', j, 'kind']) === 'libs' && isSeq(from)) {
          from.items.forEach((_f, k) => {
            if (doc.getIn(['layers', i, 'sources', j, 'from', k]) === old) doc.setIn(['layers', i, 'sources', j, 'from', k], name);
          });
        }
      });
    });
  });
}

/** Delete a layer and its sources. */
export function deleteLayer(text: string, index: number): string {
  return edit(text, (doc) => {
    const layers = seqAt(doc, ['layers'], 'layers');
    if (index < 0 || index >= layers.items.length) throw new Error(`there is no layer ${index + 1}`);
    layers.items.splice(index, 1);
  });
}

/** Delete one source of a layer. */
export function deleteSource(text: string, layer: number, index: number): string {
  return edit(text, (doc) => {
    const src = seqAt(doc, ['layers', layer, 'sources'], `layers[${layer}].sources`);
    if (index < 0 || index >= src.items.length) throw new Error('no source there');
    src.items.splice(index, 1);
  });
}

/** A new build-only stage holding a Debian base: what dappdeps-style tool mounts start from. */
export function addStage(text: string, base = 'tools'): { text: string; name: string } {
  let name = base;
  const out = edit(text, (doc) => {
    const js = doc.toJS() as { stages?: { name?: unknown }[] } | null;
    name = freeName((js?.stages ?? []).map((s) => String(s?.name ?? '')), base);
    const stage = { name, layers: [{ name: 'base', sources: [defaultSource('debian')] }] };
    const stages = doc.getIn(['stages'], true);
    if (isSeq(stages)) stages.items.push(doc.createNode(stage));
    else {
      // Stages go before the layers, where a reader expects what the layers use.
      const root = doc.contents;
      if (!isMap(root)) throw new Error('the recipe is not a mapping');
      const at = root.items.findIndex((p) => String((p.key as { value?: unknown })?.value ?? p.key) === 'layers');
      const pair = doc.createPair('stages', [stage]);
      if (at === -1) root.items.push(pair);
      else root.items.splice(at, 0, pair);
    }
  });
  return { text: out, name };
}

/** A host path relative to the project folder, when it lies inside it (a drop "referenced in place"). */
export function insideProject(projectDir: string, hostPath: string): string | undefined {
  const dir = projectDir.replace(/\/+$/, '');
  if (hostPath === dir) return '.';
  return hostPath.startsWith(`${dir}/`) ? hostPath.slice(dir.length + 1) : undefined;
}
