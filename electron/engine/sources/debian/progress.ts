// A progress fraction from the lines mmdebstrap (--verbose) and debootstrap
// print, for the build view's bar. Pure: lines in, fraction out. Each tool's
// run is a sequence of phases with a share of the bar; inside a phase the
// fraction follows the packages counted so far against the total apt or
// debootstrap announced (or the size of the cached download when nothing
// was announced yet).

interface Phase {
  /** A line that starts the phase. */
  start: RegExp;
  /** Where the phase begins on the bar, 0..1. */
  at: number;
  /** Lines that each advance the phase by one package. */
  step?: RegExp;
  /** How many steps each announced package takes in this phase. */
  perPackage?: number;
}

const MMDEBSTRAP: Phase[] = [
  { start: /^I: running apt-get update/, at: 0.02 },
  { start: /^I: downloading packages/, at: 0.08, step: /^Get:\d+ \S+ \S+ \S+ \S+/, perPackage: 1 },
  { start: /^I: extracting archives/, at: 0.4 },
  { start: /^I: installing essential packages/, at: 0.45, step: /^(Unpacking|Setting up) /, perPackage: 2 },
  { start: /^I: installing remaining packages/, at: 0.85, step: /^(Unpacking|Setting up) /, perPackage: 2 },
  { start: /^I: cleaning package lists/, at: 0.93 },
  { start: /^I: creating tarball/, at: 0.95 },
  { start: /^I: (done|success)/, at: 1 },
];

const DEBOOTSTRAP: Phase[] = [
  { start: /^I: Retrieving (Release|InRelease)/, at: 0.02 },
  { start: /^I: Found (additional )?(base|required) (dependencies|packages)/, at: 0.05 },
  { start: /^I: Retrieving \S+ \S+$/, at: 0.06, step: /^I: Retrieving \S+ \S+$/, perPackage: 1 },
  { start: /^I: Extracting /, at: 0.35, step: /^I: Extracting /, perPackage: 1 },
  { start: /^I: Installing core packages/, at: 0.45 },
  { start: /^I: Unpacking required packages/, at: 0.5, step: /^I: Unpacking \S+\.\.\.$/, perPackage: 1 },
  { start: /^I: Configuring required packages/, at: 0.7, step: /^I: Configuring \S+\.\.\.$/, perPackage: 1 },
  { start: /^I: Base system installed successfully/, at: 0.97 },
];

export type DebianTool = 'mmdebstrap' | 'debootstrap';

export class DebianProgress {
  private readonly phases: Phase[];
  private phase = -1;
  private steps = 0;
  private fraction = 0;
  /** Whether the last line fed started a phase: those lines are the short log a person reads. */
  startedPhase = false;
  /** The count apt announced ("N newly installed"), summed over its runs in one phase. */
  private announced = 0;
  /** Packages debootstrap named while downloading: its count once the download is over. */
  private readonly named = new Set<string>();

  /** `expected`: a guess at the package count (the cached download's size), used until a tool announces one. */
  constructor(
    tool: DebianTool,
    private readonly expected = 0,
  ) {
    this.phases = tool === 'mmdebstrap' ? MMDEBSTRAP : DEBOOTSTRAP;
  }

  /** Feed one output line; returns the new fraction when it moved, else undefined. */
  feed(line: string): number | undefined {
    const announced = /^\d+ upgraded, (\d+) newly installed/.exec(line);
    if (announced) this.announced = Number(announced[1]);
    const named = /^I: (?:Retrieving|Validating) (\S+) \S+$/.exec(line);
    if (named) this.named.add(named[1]);
    const next = this.phases.findIndex((p, i) => i > this.phase && p.start.test(line));
    this.startedPhase = next >= 0;
    if (next >= 0) {
      this.phase = next;
      this.steps = 0;
    }
    const p = this.phases[this.phase];
    if (!p) return undefined;
    if (p.step?.test(line)) this.steps++;
    const end = this.phases[this.phase + 1]?.at ?? 1;
    return this.moveTo(p.at + (end - p.at) * (p.step ? this.withinPhase(p) : 0));
  }

  private withinPhase(p: Phase): number {
    const downloading = p.step?.source.includes('Retrieving');
    const total = this.announced || (downloading ? 0 : this.named.size) || this.expected;
    // Without a count, approach the phase's end without reaching it.
    if (total <= 0) return this.steps / (this.steps + 20);
    return Math.min(1, this.steps / (total * (p.perPackage ?? 1)));
  }

  private moveTo(f: number): number | undefined {
    const rounded = Math.round(Math.min(1, f) * 100) / 100;
    if (rounded <= this.fraction) return undefined;
    this.fraction = rounded;
    return rounded;
  }
}
