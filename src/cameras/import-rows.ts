import { parse } from 'csv-parse/sync';

/** CSV columns, in the order the header may name them; any order works, unknown columns are refused. */
export const CSV_COLUMNS = [
  'id',
  'name',
  'source',
  'url',
  'mode',
  'transcode',
  'rtspTransport',
  'enabled',
  'tags',
] as const;

/**
 * Rows of a camera import (pure): a JSON array or { cameras: [...] } as it is, or CSV with a header line.
 * CSV cells are text: empty cells are left out (so defaults apply), true/false become booleans and tags are
 * separated by semicolons (a comma would need quoting), then every
 * row goes through the same schema as POST /api/v1/cameras.
 */
export function importRows(body: unknown): unknown[] | { error: string } {
  if (typeof body === 'string') return csvRows(body);
  if (Array.isArray(body)) return body;
  const cameras = (body as { cameras?: unknown } | null)?.cameras;
  if (Array.isArray(cameras)) return cameras;
  return { error: 'expected a JSON array of cameras, { "cameras": [...] }, or text/csv with a header line' };
}

function csvRows(text: string): unknown[] | { error: string } {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    return { error: `not valid CSV: ${(err as Error).message}` };
  }
  return records.map((record) =>
    Object.fromEntries(
      Object.entries(record)
        .filter(([, value]) => value !== '')
        .map(([key, value]) => [key, cell(key, value)]),
    ),
  );
}

function cell(key: string, value: string): unknown {
  if (key === 'enabled') return booleanCell(value);
  if (key === 'tags') return value.split(';').map((tag) => tag.trim());
  return value;
}

function booleanCell(value: string): boolean | string {
  const lower = value.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : value;
}
