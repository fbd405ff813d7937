// One function per source kind; the graph calls them through here.
import type { Source } from '../../../shared/recipe';
import { busyboxSource } from './busybox';
import { copySource } from './copy';
import { debianSource } from './debian';
import { runStepSource } from './run';
import { hostSource } from './host';
import { imageSource } from './image';
import { dirSource, fileSource, removeSource, symlinkSource } from './inline';
import { libsSource } from './libs';
import { tarballSource } from './tarball';
import type { SourceContext, SourceResult } from './types';
import { usersSource } from './users';

export function runSource(s: Source, ctx: SourceContext): Promise<SourceResult> {
  switch (s.kind) {
    case 'image':
      return imageSource(s, ctx);
    case 'busybox':
      return busyboxSource(s, ctx);
    case 'host':
      return hostSource(s, ctx);
    case 'libs':
      return libsSource(s, ctx);
    case 'file':
      return fileSource(s, ctx);
    case 'symlink':
      return symlinkSource(s);
    case 'dir':
      return dirSource(s);
    case 'copy':
      return copySource(s, ctx);
    case 'users':
      return usersSource(s, ctx);
    case 'remove':
      return removeSource(s, ctx);
    case 'tarball':
      return tarballSource(s, ctx);
    case 'debian':
      return debianSource(s, ctx);
    case 'run':
      return runStepSource(s, ctx);
  }
}

export { RecipeError } from './types';
export type { SourceContext, SourceResult } from './types';
