// Entry point of the bundled CLI (dist/cli.mjs).
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`scratchyard: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
