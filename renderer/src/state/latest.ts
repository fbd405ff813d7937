// One helper for engine requests whose replies can arrive out of order: a
// reply is used only if no newer request under the same key started since
// (and the key's family was not invalidated), else it is dropped as stale.

export const STALE: unique symbol = Symbol('stale reply');
export type Fresh<T> = T | typeof STALE;

export interface Latest {
  /** Run `work` as the newest request under `key`; resolves STALE when a newer one (or an invalidation) overtook it. */
  run<T>(key: string, work: () => Promise<T>): Promise<Fresh<T>>;
  /** Make every reply still awaited under keys starting with `prefix` stale (the layer changed, a project opened). */
  invalidate(prefix: string): void;
}

export function latestRequests(): Latest {
  const seq = new Map<string, number>();
  let counter = 0;
  return {
    async run(key, work) {
      const mine = ++counter;
      seq.set(key, mine);
      const value = await work();
      return seq.get(key) === mine ? value : STALE;
    },
    invalidate(prefix) {
      for (const k of seq.keys()) if (k.startsWith(prefix)) seq.set(k, -1);
    },
  };
}
