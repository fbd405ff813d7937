// An xterm.js terminal bound to one engine terminal id. Keystrokes go to the
// engine only when `interactive`; output arrives through the registry.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal as XTerm } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'react';
import { api } from '../api';
import { attachTerminal } from '../terminals';

export function Terminal({ id, label, interactive = false }: { id: string; label: string; interactive?: boolean }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const term = new XTerm({ convertEol: false, fontSize: 13, rows: 12, theme: { background: '#14161a' }, disableStdin: !interactive, screenReaderMode: true });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el.current!);
    // A log is read, not typed into: read-only and out of the tab order (it must not trap Tab).
    if (!interactive)
      for (const t of el.current!.querySelectorAll('textarea, [tabindex]')) {
        t.setAttribute('tabindex', '-1');
        if (t instanceof HTMLTextAreaElement) t.readOnly = true;
      }
    try {
      fit.fit();
    } catch {
      // not laid out yet
    }
    const detach = attachTerminal(id, (d) => term.write(d));
    const sub = interactive ? term.onData((data) => void api.request({ cmd: 'term.write', id, data })) : undefined;
    const ro = new ResizeObserver(() => {
      try {
        fit.fit();
        if (interactive) void api.request({ cmd: 'term.resize', id, cols: term.cols, rows: term.rows }).catch(() => {});
      } catch {
        // hidden
      }
    });
    ro.observe(el.current!);
    // A new shell takes the keyboard once its tab is shown (it mounts before the dock shows it).
    const focusing = interactive ? requestAnimationFrame(() => term.focus()) : 0;
    return () => {
      cancelAnimationFrame(focusing);
      ro.disconnect();
      sub?.dispose();
      detach();
      term.dispose();
    };
  }, [id, interactive]);
  return (
    <div className="term-wrap">
      <div className="term-title" aria-hidden>
        {label}
      </div>
      <section role="region" aria-label={label} className="terminal" ref={el} />
    </div>
  );
}
