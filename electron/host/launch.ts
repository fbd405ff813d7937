// Opening the app in the user's browser without putting the token on a
// command line (any local user can read every process's argv in ps): the
// browser is given a local file, readable by its owner only, that redirects
// to the URL with the token, as Jupyter does. The file goes when the server stops.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Write `dir`/open.html, mode 0600, redirecting to `url`; `dir` must be a private (0700) folder. */
export async function writeLaunchFile(dir: string, url: string): Promise<string> {
  const file = path.join(dir, 'open.html');
  const attr = url.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const html = `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="1;url=${attr}">
<title>Scratchyard</title>
</head>
<body>
<p>Opening <a href="${attr}">Scratchyard</a>…</p>
<script>location.replace(${JSON.stringify(url).replace(/</g, '\\u003c')});</script>
</body>
</html>
`;
  await fs.writeFile(file, html, { mode: 0o600, flag: 'wx' });
  return file;
}

/**
 * Open `file` in the user's browser ($BROWSER, else xdg-open), with `env`.
 * Returns the opener's pid (the browser is the user's: the server leaves it
 * running when it stops), or undefined when there is no opener.
 */
export function openInBrowser(file: string, env: NodeJS.ProcessEnv): number | undefined {
  const opener = env.BROWSER?.split(':')[0] || 'xdg-open';
  const child = spawn(opener, [pathToFileURL(file).href], { stdio: 'ignore', detached: true, env });
  child.on('error', () => process.stderr.write(`(no browser to open here: ${opener} is not available)\n`));
  child.unref();
  return child.pid;
}
