/** The health status of an ingest, as the supervisor drives it. `disabled` is set by the registry, not here. */
export type IngestStatus =
  | 'starting'
  | 'online'
  | 'offline'
  | 'stalled'
  | 'auth_failed'
  | 'unsupported'
  | 'stopped';

/**
 * Allowed moves. Anything else is a bug in the supervisor and throws, so a camera can never, say, jump
 * from offline to online without going through starting (a new ffmpeg) first.
 */
const TRANSITIONS: Readonly<Record<IngestStatus, readonly IngestStatus[]>> = {
  stopped: ['starting'],
  starting: ['starting', 'online', 'offline', 'stalled', 'auth_failed', 'unsupported', 'stopped'],
  online: ['starting', 'stalled', 'offline', 'auth_failed', 'unsupported', 'stopped'],
  stalled: ['starting', 'stopped'],
  offline: ['starting', 'stopped'],
  auth_failed: ['starting', 'stopped'],
  unsupported: ['starting', 'stopped'],
};

export class IllegalTransitionError extends Error {
  readonly code = 'CAMRELAY_ERR_ILLEGAL_TRANSITION';
  constructor(from: IngestStatus, to: IngestStatus) {
    super(`illegal ingest status transition ${from} -> ${to}`);
  }
}

export function canTransition(from: IngestStatus, to: IngestStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: IngestStatus, to: IngestStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}
