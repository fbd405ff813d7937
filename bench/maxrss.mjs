// Run the CLI in this process and report its peak memory on stderr on exit
// (Node reports only its own rusage, so the CLI must run in-process).
process.argv = [process.argv[0], 'scratchyard', ...process.argv.slice(2)];
process.on('exit', () => process.stderr.write(`maxrss-kb=${process.resourceUsage().maxRSS}\n`));
await import('../dist/cli.mjs');
