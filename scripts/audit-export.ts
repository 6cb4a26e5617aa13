/**
 * npm run audit:export -- --out FILE [--after-position N] [--organization ID]
 * Writes the raw events of the configured event store as ndjson (one redacted event per
 * line, the lines GET /audit/events streams), in position order, up to the head at the
 * start, with a progress bar on stderr. `--out -` writes to stdout.
 *
 * --organization keeps one organization's events, by the audit index's rule
 * (projections/audit-log/entry.ts: the organization the event's data names, else its
 * metadata's; technical streams left out). It reads the store itself, not the index, so
 * it works with EventStoreDB and does not depend on the projector having caught up.
 *
 * Memory stays at one page (1,000 events) whatever the store's size: each page is written
 * and flushed before the next is read. Exit status 0 on success, 2 on a usage or
 * configuration error.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { ConfigError, loadConfig } from "../src/config";
import { openDatabase } from "../src/db/open";
import { migrate } from "../src/db/migrate";
import { createEventStore } from "../src/wiring";
import { Progress } from "../src/progress";
import { rawEventJson } from "../src/audit/entry-json";
import { isAudited, organizationOf } from "../projections/audit-log/entry";

const USAGE = "usage: npm run audit:export -- --out FILE|- [--after-position N] [--organization ID]";
const PAGE = 1000;

function parseArgs(argv: string[]): { out: string; after: bigint; organization: string | null } {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (!["--out", "--after-position", "--organization"].includes(name) || value === undefined || flags.has(name)) throw new Error(USAGE);
    flags.set(name, value);
  }
  const out = flags.get("--out");
  const after = flags.get("--after-position") ?? "0";
  const organization = flags.get("--organization") ?? null;
  if (!out || !/^\d{1,19}$/.test(after)) throw new Error(USAGE);
  if (organization !== null && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(organization)) throw new Error(`--organization must be an organization id\n${USAGE}`);
  return { out, after: BigInt(after), organization: organization?.toLowerCase() ?? null };
}

async function write(out: WriteStream | NodeJS.WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}

let args;
let config;
try {
  args = parseArgs(process.argv.slice(2));
  config = loadConfig(process.env, { requireSecrets: false });
} catch (err) {
  console.error(err instanceof ConfigError ? `audit:export: configuration error: ${err.message}` : err instanceof Error ? err.message : String(err));
  process.exit(2);
}

const opened = await openDatabase(config);
await migrate(opened.db);
const store = await createEventStore(config, opened.db);
const head = await store.headPosition();
const out = args.out === "-" ? process.stdout : createWriteStream(args.out, { flags: "w", mode: 0o600 });
const bar = new Progress("audit:export", Number(head));
let position = args.after;
let written = 0;
let read = 0;
while (position < head) {
  const page = (await store.readAll({ fromPosition: position, limit: PAGE })).filter((e) => e.position <= head);
  if (page.length === 0) break;
  read += page.length;
  let chunk = "";
  for (const event of page) {
    if (args.organization && (!isAudited(event) || organizationOf(event) !== args.organization)) continue;
    chunk += JSON.stringify(rawEventJson(event)) + "\n";
    written++;
  }
  if (chunk) await write(out, chunk);
  position = page[page.length - 1].position;
  bar.update(Number(position));
}
bar.finish(Number(head));
if (out !== process.stdout) {
  (out as WriteStream).end();
  await once(out, "close");
}
console.error(`audit:export: ${written} events written${args.organization ? ` (organization ${args.organization}, of ${read} read)` : ""} up to position ${head}${args.out === "-" ? "" : ` to ${args.out}`}`);
await store.close();
await opened.close();
