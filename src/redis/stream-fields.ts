/** The fields of a Redis stream entry ([field, value, field, value, …]) as a map. */
export function streamFields(flat: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string);
  return fields;
}
