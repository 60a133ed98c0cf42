// `datasync run` starts a shard's worker process while the plan is still being made (as soon as
// the shard gets its first file), so that the worker's start-up, about 150 ms of CPU to load Node,
// the CLI and the SDK, overlaps the listing instead of following it. On B7 (4 shards of 8 × 4 MiB
// through a 4 MiB/s-per-stream proxy) the first PUT came 0.6 s after the plan was written when
// the workers were started only then.
//
// The handshake, over the fork's IPC channel:
//   worker → parent  { type: 'waiting' }                 it listens (it goes on loading meanwhile)
//   parent → worker  { type: 'planned', copy: boolean }  the plan is written (copy: true), or the
//                                                        run ends without this shard (copy: false)
// The parent answers only after 'waiting', so the answer cannot reach a worker before it listens
// (a message that arrives with no listener is dropped). A worker whose parent goes away stops.

export interface WaitingMessage { type: 'waiting' }
export interface PlannedMessage { type: 'planned'; copy: boolean }

/** In a prestarted worker: resolves true when the parent says copy, false if it says not to or disconnects. */
export function awaitPlanned(): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (copy: boolean) => {
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
      resolve(copy);
    };
    const onMessage = (m: unknown) => {
      if ((m as PlannedMessage | undefined)?.type === 'planned') done((m as PlannedMessage).copy === true);
    };
    const onDisconnect = () => done(false);
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
    process.send!({ type: 'waiting' } satisfies WaitingMessage);
  });
}
