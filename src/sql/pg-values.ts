/**
 * PostgreSQL text-format values turned into JSON-safe values, identically for both
 * drivers: the connection layer asks each driver for the raw text the server sent and
 * converts it here, so a result looks the same from a server and from PGlite.
 *
 * Choices (the result of a query is JSON, and JSON numbers are doubles):
 * - int2/int4/oid/float4/float8 → number; float NaN/±Infinity stay strings ("NaN").
 * - int8 → number when it is a safe integer (count(*) is int8), else the exact string.
 * - numeric/money → string: keeps every digit (sum(), avg() return numeric).
 * - bool → boolean; json/jsonb → the parsed JSON.
 * - timestamptz → ISO 8601 in UTC ("2024-01-15T10:00:00.123456Z", microseconds kept);
 *   timestamp → ISO 8601 without an offset; date → "YYYY-MM-DD". The executor sets
 *   TimeZone=UTC and DateStyle=ISO for the transaction so the server's text is ISO.
 * - bytea → PostgreSQL's hex text ("\x0102").
 * - arrays → JSON arrays of converted elements.
 * - everything else (text, uuid, interval, enums, ...) → the server's text.
 */

export interface PgType {
  /** pg_type.typname, e.g. int4, _int4 for an array of int4. */
  name: string;
  /** Element type OID for arrays, base type OID for domains, else 0. */
  element: number;
  /** A domain converts like its base type (`element`). */
  domain?: boolean;
}

/** Built-in scalar types by OID (fixed by PostgreSQL), so common results need no pg_type round trip. */
const BUILTIN_SCALARS: Record<number, string> = {
  16: "bool", 17: "bytea", 18: "char", 19: "name", 20: "int8", 21: "int2", 23: "int4", 25: "text", 26: "oid",
  114: "json", 142: "xml", 650: "cidr", 700: "float4", 701: "float8", 705: "unknown", 790: "money", 829: "macaddr",
  869: "inet", 1042: "bpchar", 1043: "varchar", 1082: "date", 1083: "time", 1114: "timestamp", 1184: "timestamptz",
  1186: "interval", 1266: "timetz", 1560: "bit", 1562: "varbit", 1700: "numeric", 2249: "record", 2278: "void",
  2950: "uuid", 3802: "jsonb",
};

/** Built-in array types: array OID → element OID. */
const BUILTIN_ARRAYS: Record<number, number> = {
  199: 114, 791: 790, 1000: 16, 1001: 17, 1002: 18, 1003: 19, 1005: 21, 1007: 23, 1009: 25, 1014: 1042, 1015: 1043,
  1016: 20, 1021: 700, 1022: 701, 1028: 26, 1041: 869, 1115: 1114, 1182: 1082, 1183: 1083, 1185: 1184, 1187: 1186,
  1231: 1700, 1270: 1266, 2951: 2950, 3807: 3802,
};

export const BUILTIN_TYPES: ReadonlyMap<number, PgType> = new Map<number, PgType>([
  ...Object.entries(BUILTIN_SCALARS).map(([oid, name]): [number, PgType] => [Number(oid), { name, element: 0 }]),
  ...Object.entries(BUILTIN_ARRAYS).map(([oid, element]): [number, PgType] => [Number(oid), { name: `_${BUILTIN_SCALARS[element]}`, element }]),
]);

/** Converts one field of the server's text output; `types` resolves array elements. */
export function fromPgText(text: string | null, oid: number, types: ReadonlyMap<number, PgType>): unknown {
  if (text === null) return null;
  switch (oid) {
    case 16:
      return text === "t";
    case 21:
    case 23:
    case 26:
      return Number(text);
    case 700:
    case 701: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case 20: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case 114:
    case 3802:
      return JSON.parse(text);
    case 1114:
      return isoTimestamp(text, false);
    case 1184:
      return isoTimestamp(text, true);
    default: {
      const type = types.get(oid);
      if (type?.domain && type.element) return fromPgText(text, type.element, types);
      if (type && type.element !== 0) {
        const element = type.element;
        return parseArrayLiteral(text, (item) => fromPgText(item, element, types));
      }
      return text;
    }
  }
}

/**
 * "2024-01-15 10:00:00.5+00" → "2024-01-15T10:00:00.5Z". Only ISO-style finite values
 * are rewritten; infinity and BC dates keep the server's spelling.
 */
function isoTimestamp(text: string, withZone: boolean): string {
  const match = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}(?::\d{2}){0,2})?$/.exec(text);
  if (!match) return text;
  const [, day, time, offset] = match;
  if (!withZone) return `${day}T${time}`;
  if (!offset || /^[+-]00(:00)*$/.test(offset)) return `${day}T${time}Z`;
  return `${day}T${time}${offset.length === 3 ? `${offset}:00` : offset}`;
}

/**
 * Parses a PostgreSQL array literal ('{1,2,NULL,"a b"}', nested '{{1,2},{3,4}}',
 * optional '[0:1]=' bounds) into nested arrays of converted elements.
 */
export function parseArrayLiteral(text: string, convert: (item: string | null) => unknown): unknown {
  let i = 0;
  if (text[0] === "[") {
    const eq = text.indexOf("=");
    if (eq < 0) return text;
    i = eq + 1;
  }
  const parseLevel = (): unknown[] => {
    // text[i] === "{"
    i++;
    const out: unknown[] = [];
    if (text[i] === "}") {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === "{") {
        out.push(parseLevel());
      } else if (text[i] === '"') {
        i++;
        let value = "";
        while (i < text.length && text[i] !== '"') {
          if (text[i] === "\\") i++;
          value += text[i];
          i++;
        }
        i++;
        out.push(convert(value));
      } else {
        let end = i;
        while (end < text.length && text[end] !== "," && text[end] !== "}") end++;
        const raw = text.slice(i, end);
        i = end;
        out.push(raw === "NULL" ? null : convert(raw));
      }
      if (text[i] === ",") {
        i++;
        continue;
      }
      i++; // "}"
      return out;
    }
  };
  if (text[i] !== "{") return text;
  return parseLevel();
}
