// The engine connection as a state: nothing while connected, a quiet line while
// connecting, and a banner with Reconnect once lost (actions say why they are off).
import { useStore } from '../store';

export function ConnectionBanner() {
  const connection = useStore((s) => s.connection);
  const reconnect = useStore((s) => s.reconnect);
  if (connection.state === 'connected') return null;
  if (connection.state === 'connecting')
    return (
      <div role="status" className="banner connection connecting">
        Connecting to the engine…
      </div>
    );
  return (
    <div role="alert" aria-label="Engine connection" className="banner connection lost">
      Engine connection lost: {connection.reason}. Building, running and opening are off until it is back.{' '}
      <button onClick={reconnect}>Reconnect</button>
    </div>
  );
}
