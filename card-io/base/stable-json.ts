/**
 * Stable JSON, the form of every retained payload: object keys sorted at every depth, no
 * whitespace, `undefined` members left out. The same value always gives the
 * same bytes, so a receiver can compare or hash payloads, and a resent
 * notification is byte-identical to the first send.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };

function sortValue(value: JsonValue | undefined): JsonValue | undefined {
  if (Array.isArray(value)) return value.map((v) => sortValue(v) ?? null);
  if (value === null || typeof value !== 'object') return value;
  const sorted: { [key: string]: JsonValue | undefined } = {};
  for (const key of Object.keys(value).sort()) {
    const v = sortValue(value[key]);
    if (v !== undefined) sorted[key] = v;
  }
  return sorted;
}

export function stableJson(value: JsonValue): string {
  return JSON.stringify(sortValue(value));
}
