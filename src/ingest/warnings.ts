/**
 * ffmpeg repeats some warnings many times a second on ordinary cameras ("Non-monotonous DTS", packet
 * loss on UDP). They are counted by kind, exported as a metric and summarised in the log once per
 * interval, instead of one log line each. Kinds are a fixed list, so metric labels stay bounded.
 */
export const WARNING_KINDS = [
  'non_monotonous_dts',
  'timestamps_unset',
  'packets_lost',
  'corrupt_data',
  'other',
] as const;
export type WarningKind = (typeof WARNING_KINDS)[number];

const PATTERNS: ReadonlyArray<[WarningKind, RegExp]> = [
  ['non_monotonous_dts', /non-monoton(ou|i)s dts|dts .* out of order|invalid dts/i],
  ['timestamps_unset', /timestamps are unset/i],
  ['packets_lost', /missed \d+ packets|max delay reached|packet(s)? (lost|loss)|RTP: dropping/i],
  ['corrupt_data', /corrupt|error while decoding|concealing|invalid nal|no frame!/i],
];

/** The kind of a warning line (pure). */
export function warningKind(message: string): WarningKind {
  return PATTERNS.find(([, pattern]) => pattern.test(message))?.[0] ?? 'other';
}

/** Counts warnings by kind between two summaries. */
export class WarningTally {
  private counts = new Map<WarningKind, number>();

  add(kind: WarningKind): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  /** The counts since the last call, or null if there were none; starts a new interval. */
  take(): Partial<Record<WarningKind, number>> | null {
    if (this.counts.size === 0) return null;
    const taken = Object.fromEntries(this.counts) as Partial<Record<WarningKind, number>>;
    this.counts = new Map();
    return taken;
  }
}
