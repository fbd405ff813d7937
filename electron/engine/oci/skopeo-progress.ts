// What `skopeo --debug copy` says it did, blob by blob, as events. Without a
// terminal skopeo prints only "Copying blob sha256:…" to stdout (its progress
// bars, which say "skipped: already exists", need a terminal with a width); its
// debug log on stderr says what became of each blob: uploaded ("Upload of layer
// … complete"), mounted from another repository ("... mount OK" then "Skipping
// blob … (already present)"), already there (HEAD "... already exists"), or
// downloaded ("Downloading /v2/…/blobs/sha256:…"). Pure: lines in, events out;
// tested on recorded output (test/fixtures/skopeo/).
import { asSha256, type Sha256 } from '../../../shared/brand';

export type BlobOutcome = 'uploaded' | 'mounted' | 'skipped' | 'downloaded';

export type SkopeoEvent =
  /** skopeo started on a blob (stdout's "Copying blob|config sha256:…"). */
  | { kind: 'blob'; digest: Sha256; role: 'layer' | 'config'; status: 'copying' }
  /** What became of it; at most one per digest. */
  | { kind: 'blob'; digest: Sha256; status: BlobOutcome }
  /** "Writing manifest to image destination". */
  | { kind: 'manifest' }
  /** skopeo's fatal error, unquoted: the last thing it says before exiting non-zero. */
  | { kind: 'fatal'; message: string };

const HEX = '([0-9a-f]{64})';
const COPYING = new RegExp(`^Copying (blob|config) sha256:${HEX}\\b`);
const LOG = /^time="[^"]*" level=(\w+) msg="((?:[^"\\]|\\.)*)"/;
const UPLOADED = new RegExp(`^Upload of layer sha256:${HEX} complete`);
const SKIPPING = new RegExp(`^Skipping blob sha256:${HEX} \\(already present\\)`);
const MOUNTING = new RegExp(`^Trying to mount /v2/.+[?&]mount=sha256(?::|%3A)${HEX}`);
const CHECKING = new RegExp(`^Checking /v2/.+/blobs/sha256:${HEX}$`);
const DOWNLOADING = new RegExp(`^Downloading /v2/.+/blobs/sha256:${HEX}$`);

/** A Go-quoted log message's text ("\"" and "\\" escapes). */
function unquote(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** Feed skopeo's lines (stdout and stderr, in any interleaving) one at a time. */
export class SkopeoProgressParser {
  /** The blob a cross-repository mount was asked for, and the one it succeeded for. */
  private trying?: string;
  private mounting?: string;
  /** The blob whose presence at the destination a HEAD is checking, and whether the next check is of a cached location instead. */
  private checking?: string;
  private candidate = false;
  private readonly done = new Set<string>();

  line(raw: string): SkopeoEvent[] {
    const text = raw.replace(/\r$/, '');
    const copying = COPYING.exec(text);
    if (copying) return [{ kind: 'blob', digest: asSha256(copying[2]), role: copying[1] === 'config' ? 'config' : 'layer', status: 'copying' }];
    if (text.startsWith('Writing manifest')) return [{ kind: 'manifest' }];
    const log = LOG.exec(text);
    if (!log) return [];
    const [, level, quoted] = log;
    const msg = unquote(quoted);
    if (level === 'fatal' || level === 'error') return [{ kind: 'fatal', message: msg }];
    let m: RegExpExecArray | null;
    if ((m = UPLOADED.exec(msg))) return this.outcome(m[1], 'uploaded');
    if ((m = SKIPPING.exec(msg))) return this.outcome(m[1], this.mounting === m[1] ? 'mounted' : 'skipped');
    if ((m = DOWNLOADING.exec(msg))) return this.outcome(m[1], 'downloaded');
    if ((m = MOUNTING.exec(msg))) {
      this.trying = m[1];
      this.mounting = undefined;
    } else if (msg === '... mount OK') this.mounting = this.trying;
    else if (msg.startsWith('Trying to reuse cached location ')) this.candidate = true;
    else if ((m = CHECKING.exec(msg))) {
      // A HEAD on a cached location (another repository) says nothing of the destination.
      this.checking = this.candidate ? undefined : m[1];
      this.candidate = false;
    }
    else if (msg === '... already exists' && this.checking) return this.outcome(this.checking, 'skipped');
    return [];
  }

  private outcome(hex: string, status: BlobOutcome): SkopeoEvent[] {
    if (this.done.has(hex)) return [];
    this.done.add(hex);
    return [{ kind: 'blob', digest: asSha256(hex), status }];
  }
}

/** Every event of a whole recorded output. */
export function parseSkopeoOutput(text: string): SkopeoEvent[] {
  const p = new SkopeoProgressParser();
  return text.split('\n').flatMap((l) => p.line(l));
}

/** Each blob's outcome, in the order skopeo started them (a blob with none: 'copied' by a transport that logs nothing). */
export function blobOutcomes(events: SkopeoEvent[]): { digest: Sha256; role: 'layer' | 'config'; status: BlobOutcome | 'copied' }[] {
  const rows = new Map<string, { digest: Sha256; role: 'layer' | 'config'; status: BlobOutcome | 'copied' }>();
  const outcome = new Map<string, BlobOutcome>();
  for (const e of events) {
    if (e.kind !== 'blob') continue;
    if (e.status === 'copying') rows.set(e.digest, { digest: e.digest, role: e.role, status: outcome.get(e.digest) ?? 'copied' });
    else {
      outcome.set(e.digest, e.status);
      const r = rows.get(e.digest);
      if (r) r.status = e.status;
    }
  }
  return [...rows.values()];
}
