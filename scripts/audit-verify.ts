/**
 * npm run audit:verify [--batch-size N]
 * Recomputes every stream's hash chain from the configured event store and prints
 * {valid, events_checked, first_broken} as JSON. Exit status 0 when the chains are whole,
 * 1 when one is broken, 2 on a usage or configuration error.
 */
import { ConfigError, loadConfig } from "../src/config";
import { openDatabase } from "../src/db/open";
import { migrate } from "../src/db/migrate";
import { createEventStore } from "../src/wiring";
import { verifyEventStore } from "../src/audit/verify";
import { Progress } from "../src/progress";

const args = process.argv.slice(2);
const batchFlag = args.indexOf("--batch-size");
const batchSize = batchFlag >= 0 ? Number(args[batchFlag + 1]) : 5000;
if (!Number.isInteger(batchSize) || batchSize < 1 || args.some((a, i) => a !== "--batch-size" && (batchFlag < 0 || i !== batchFlag + 1))) {
  console.error("usage: npm run audit:verify [--batch-size N]");
  process.exit(2);
}

let config;
try {
  config = loadConfig(process.env, { requireSecrets: false });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`audit:verify: configuration error: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const opened = await openDatabase(config);
await migrate(opened.db);
const store = await createEventStore(config, opened.db);
let bar: Progress | undefined;
const report = await verifyEventStore(store, {
  db: store.name === "eventstoredb" ? undefined : opened.db,
  batchSize,
  onProgress: (checked, _position, head) => {
    bar ??= new Progress("audit:verify", Number(head));
    bar.update(Number(_position));
  },
});
bar?.finish(Number(report.head_position));
console.log(JSON.stringify(report, null, 2));
await store.close();
await opened.close();
process.exit(report.valid ? 0 : 1);
