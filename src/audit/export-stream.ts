/**
 * Streamed audit outputs. The source is an async sequence of pages (keyset pages of
 * ~1000 rows); each page is encoded and handed to the response as one chunk, and the
 * next page is read only when the consumer pulls. Memory stays at about one page
 * whatever the export's size, and a client that goes away stops the reading.
 */
import { csvHeader, csvLine } from "./csv";
import type { AuditEntryJson } from "./entry-json";

export type ExportFormat = "csv" | "json" | "ndjson";

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  json: "application/json",
  ndjson: "application/x-ndjson",
};

/** Encodes pages of entries: CSV, a JSON document `{audit_logs:[...], count}`, or ndjson. */
export async function* encodeEntries(pages: AsyncIterable<AuditEntryJson[]>, format: ExportFormat): AsyncGenerator<string> {
  let count = 0;
  if (format === "csv") yield csvHeader();
  if (format === "json") yield '{"audit_logs":[';
  for await (const page of pages) {
    if (page.length === 0) continue;
    let chunk = "";
    for (const entry of page) {
      if (format === "csv") chunk += csvLine(entry);
      else if (format === "ndjson") chunk += JSON.stringify(entry) + "\n";
      else chunk += (count > 0 ? "," : "") + JSON.stringify(entry);
      count++;
    }
    yield chunk;
  }
  if (format === "json") yield `],"count":${count}}`;
}

/** One JSON object per line. */
export async function* encodeNdjson<T>(pages: AsyncIterable<T[]>): AsyncGenerator<string> {
  for await (const page of pages) {
    if (page.length === 0) continue;
    let chunk = "";
    for (const item of page) chunk += JSON.stringify(item) + "\n";
    yield chunk;
  }
}

/** A pull-driven byte stream over text chunks: the next chunk is produced on demand. */
export function textStream(chunks: AsyncIterable<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await iterator.return?.(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}
