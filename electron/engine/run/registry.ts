// The runners by name: the one place that knows which module runs what.
import { chrootRunner } from './chroot';
import { dockerRunner } from './docker';
import { podmanRunner } from './podman';
import type { Runner, RunnerName } from './runner';
import { vmRunner, type VmSettings } from './vm';

export interface RunnerSettings {
  /** The VM runner's kernel, acceleration and default time limit. */
  vm?: VmSettings;
}

export function runnerFor(name: RunnerName, settings: RunnerSettings = {}): Runner {
  switch (name) {
    case 'chroot':
      return chrootRunner;
    case 'vm':
      return vmRunner(settings.vm);
    case 'docker':
      return dockerRunner;
    case 'podman':
      return podmanRunner;
  }
}
