/**
 * npm run replay [projection ...] [--batch-size N]
 * Rebuilds read models from zero out of the event stream, with a progress bar, and
 * prints events/s. Safe to interrupt: every batch commits with its checkpoint, and the
 * projector resumes from there. Without names, every projection is rebuilt.
 */
import { ConfigError, loadConfig } from "../src/config";
import { openDatabase } from "../src/db/open";
import { migrate } from "../src/db/migrate";
import { createEventStore } from "../src/wiring";
import { Projector, PROJECTOR_LOCK } from "../projections/runner/projector";
import { allProjections } from "../projections";
import { Progress } from "../src/progress";

const args = process.argv.slice(2);
const batchFlag = args.indexOf("--batch-size");
const batchSize = batchFlag >= 0 ? Number(args[batchFlag + 1]) : 2000;
const names = args.filter((a, i) => !a.startsWith("--") && (batchFlag < 0 || i !== batchFlag + 1));

let config;
try {
  config = loadConfig(process.env, { requireSecrets: false });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`replay: configuration error: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
const known = allProjections.map((p) => p.name);
const unknown = names.filter((n) => !known.includes(n));
if (unknown.length > 0 || !Number.isInteger(batchSize) || batchSize < 1) {
  console.error(`usage: npm run replay [${known.join("|")} ...] [--batch-size N]`);
  process.exit(2);
}

const opened = await openDatabase(config);
await migrate(opened.db);
const store = await createEventStore(config, opened.db);
const projector = new Projector(store, opened.db, allProjections, { rebuildBatchSize: batchSize });

// The running projector (in an API process) must not write while we rebuild.
let lock = await opened.db.tryAdvisoryLock(PROJECTOR_LOCK);
if (!lock) {
  console.error("replay: waiting for the projector lock (stop the API processes to proceed)...");
  while (!lock) {
    await Bun.sleep(1000);
    lock = await opened.db.tryAdvisoryLock(PROJECTOR_LOCK);
  }
}

const head = await store.headPosition();
const chosen = names.length > 0 ? names : known;
console.error(`replay: rebuilding ${chosen.join(", ")} up to position ${head}`);
let current: { name: string; bar: Progress } | undefined;
const result = await projector.rebuild(chosen, (p) => {
  if (current?.name !== p.projection) {
    current = { name: p.projection, bar: new Progress(`replay ${p.projection}`, Number(p.head)) };
  }
  current.bar.update(Number(p.position));
});
current?.bar.finish(Number(head));
const rate = result.seconds > 0 ? Math.round(result.events / result.seconds) : 0;
console.log(`replay: ${result.events} events applied in ${result.seconds.toFixed(2)} s (${rate} events/s)`);
await lock.release();
await store.close();
await opened.close();
