// Gathered writes: many small buffers (tar headers, small files) in one system call, without concatenating them first.
import { writevSync } from 'node:fs';

/** Write all of `bufs` at `position`, however short each writev is. */
export function writevAllSync(fd: number, bufs: Buffer[], position: number): void {
  let left = bufs.reduce((n, b) => n + b.length, 0);
  while (left > 0) {
    let n = writevSync(fd, bufs, position);
    position += n;
    left -= n;
    // A short write: drop what went out, go on with the rest.
    let i = 0;
    while (i < bufs.length && n >= bufs[i].length) n -= bufs[i++].length;
    bufs = bufs.slice(i);
    if (n > 0) bufs = [bufs[0].subarray(n), ...bufs.slice(1)];
  }
}
