/**
 * Boot: config -> database -> migrations -> event store -> projector -> bootstrap -> listen.
 * With no environment at all it runs embedded (PGlite under ./data).
 */
import { ConfigError, loadConfig } from "./config";
import { openDatabase } from "./db/open";
import { migrate } from "./db/migrate";
import { buildDeps } from "./wiring";
import { createApp } from "./app";
import { bootstrap } from "./handlers/bootstrap";
import { bootstrapDemo } from "./handlers/demo";
import { openDemoDatabase } from "./sql/demo";
import { DataDirInUseError } from "./db/datadir-lock";
import { MAX_BODY_BYTES } from "./http/errors";

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`ledgerline: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  let opened;
  try {
    opened = await openDatabase(config);
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      console.error(`ledgerline: ${err.message}`);
      process.exit(3);
    }
    throw err;
  }
  const { db } = opened;
  await migrate(db);
  const deps = await buildDeps(config, db);
  const { logger } = deps;
  deps.projector.start();
  await deps.security.start();

  const boot = await bootstrap(deps);
  const demo = config.demo ? await bootstrapDemo(deps) : undefined;
  const app = createApp(deps).listen({ port: config.port, hostname: config.host, maxRequestBodySize: MAX_BODY_BYTES * 2 });
  // After listen: a start that fails (port taken) never shows a password it then forgets.
  if (boot.generatedPassword) {
    // Printed once, on the terminal only (never through the logger or into an event).
    process.stdout.write(
      `\n  Super admin created: ${boot.superAdminEmail}\n  Password (shown once): ${boot.generatedPassword}\n  Set SUPER_ADMIN_PASSWORD to choose it yourself.\n\n`,
    );
  }
  if (demo?.generatedPassword) {
    process.stdout.write(
      `  Demo organization "${demo.organizationSlug}" created; its admin: ${demo.adminEmail}\n  Demo admin password (shown once): ${demo.generatedPassword}\n\n`,
    );
  }

  // Warm the sample database now: building it takes seconds (PGlite's start), which the
  // first question would otherwise wait for.
  if (config.demo) void openDemoDatabase().catch((err) => logger.warn("demo database not built", { error: err instanceof Error ? err.message : String(err) }));

  logger.info("listening", {
    url: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${app.server?.port}`,
    mode: config.databaseUrl ? "postgres" : "embedded",
    event_store: deps.store.name,
    data_dir: config.databaseUrl ? undefined : config.dataDir,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      // A second signal while a stop hangs (a database gone away): stop now.
      logger.warn("forced exit", { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info("shutting down", { signal });
    try {
      await app.stop();
      await deps.apiKeyUsage.stop();
      await deps.accessDenied.stop();
      await deps.connections.closeAll();
      await deps.projector.stop();
      await deps.security.stop();
      await deps.store.close();
      await opened.close();
    } catch (err) {
      // One line and a non-zero code rather than an unhandled rejection's stack.
      logger.error("shutdown failed", { error: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    }
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err) => {
  console.error(`ledgerline: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
