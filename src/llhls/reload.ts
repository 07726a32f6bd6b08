/** `_HLS_msn`, `_HLS_part` and `_HLS_skip` of a playlist request (RFC 8216bis §6.2.5). */
export interface DeliveryDirective {
  msn: number | null;
  part: number | null;
  skip: boolean;
}

/** Where the live edge stands: the newest segment (open or not), its newest part, and the newest complete one. */
export interface LiveEdge {
  msn: number;
  part: number;
  lastCompleteMsn: number | null;
}

export type ReloadVerdict = { kind: 'now' } | { kind: 'wait' } | { kind: 'bad-request'; reason: string };

/** Parses the directive from a query; a malformed one is a bad request, like one that asks too far ahead. */
export function parseDirective(query: {
  _HLS_msn?: string;
  _HLS_part?: string;
  _HLS_skip?: string;
}): DeliveryDirective | { invalid: string } {
  const msn = wholeNumber(query._HLS_msn);
  const part = wholeNumber(query._HLS_part);
  if (msn === 'bad') return { invalid: '_HLS_msn must be a whole number' };
  if (part === 'bad') return { invalid: '_HLS_part must be a whole number' };
  if (part !== null && msn === null) return { invalid: '_HLS_part needs _HLS_msn' };
  const skip = query._HLS_skip === 'YES' || query._HLS_skip === 'v2';
  return { msn, part, skip };
}

function wholeNumber(text: string | undefined): number | null | 'bad' {
  if (text === undefined) return null;
  if (!/^\d{1,15}$/.test(text)) return 'bad';
  return Number(text);
}

/**
 * Whether a blocking request can be answered now, must wait for the live edge, or asks so far ahead that
 * the spec wants a 400 at once: more than two segments past the newest, or more parts past the newest part
 * than the Advance Part Limit (three divided by the part target, under one second).
 */
export function judgeReload(
  directive: DeliveryDirective,
  edge: LiveEdge,
  partTargetSec: number,
  partsPerSegment: number,
): ReloadVerdict {
  const { msn, part } = directive;
  if (msn === null) return { kind: 'now' };
  if (msn > edge.msn + 2) {
    return { kind: 'bad-request', reason: `_HLS_msn ${msn} is more than two segments past ${edge.msn}` };
  }
  if (part !== null) {
    const partsAhead = (msn - edge.msn) * partsPerSegment + (part - edge.part);
    if (partsAhead > advancePartLimit(partTargetSec)) {
      return { kind: 'bad-request', reason: `_HLS_part ${part} is too far past the newest part` };
    }
    return msn < edge.msn || (msn === edge.msn && part <= edge.part) ? { kind: 'now' } : { kind: 'wait' };
  }
  return edge.lastCompleteMsn !== null && edge.lastCompleteMsn >= msn ? { kind: 'now' } : { kind: 'wait' };
}

export function advancePartLimit(partTargetSec: number): number {
  return partTargetSec < 1 ? 3 / partTargetSec : 3;
}

/** How long a blocking request is held before the server gives up with a 503: three target durations. */
export function holdLimitMs(targetDurationSec: number): number {
  return 3 * targetDurationSec * 1000;
}
