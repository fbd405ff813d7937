// The last build in one line, above the build log: after every build, and at
// once on open or reload (restored from the history, nothing rebuilt).
import { useEffect, useState } from 'react';
import { summaryLine } from '../buildSummary';
import { useStore } from '../store';
import { History } from './History';

export function BuildSummary() {
  const build = useStore((s) => s.build);
  const dir = useStore((s) => s.project?.dir);
  // "3 min ago" moves on by itself.
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);
  useEffect(() => setNow(Date.now()), [build]);
  const record = build?.record;
  return (
    <div className="build-summary">
      {record && (
        <p aria-label="Last build" className={record.ok ? 'ok' : 'error'}>
          {summaryLine(record, now, dir)}
          {build.restored && !build.ok && build.error ? <span className="muted"> ({build.error})</span> : null}
        </p>
      )}
      <History />
    </div>
  );
}
