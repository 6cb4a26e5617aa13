/**
 * The executor's session over PGlite (the embedded demo database): exclusive use of the
 * instance, and the caller's statement through raw extended-protocol messages so that,
 * as on a server, several statements are refused by the parser and rows come in
 * batches (Execute with a row count) instead of being materialized.
 *
 * PGlite runs the backend on the JavaScript thread: `statement_timeout` never fires
 * (measured: pg_sleep(2) and a 44 s count(*) both ran to the end with a 200 ms timeout)
 * and nothing can interrupt a running statement. So before running anything the session
 * asks the planner (`preflight`) and refuses what could run away: a plan whose estimated
 * cost for the rows we would fetch exceeds a budget proportional to the timeout, a
 * recursive CTE (its plan cost says nothing about its iterations), sleeping functions,
 * and statements that cannot be planned but execute arbitrary work (DO, CALL, EXPLAIN,
 * COPY). That is a heuristic, not a guarantee: a statement whose cost the planner badly
 * underestimates (e.g. generate_series over a sub-select) still runs to its end.
 */
import { protocol, type PGlite } from "@electric-sql/pglite";
import type { ExecuteLimits } from "./types";
import { limitExceeded, type RawColumn, type ReadOnlySession, type StatementCursor } from "./executor";

const wire = protocol.serialize;

/** Planner cost units allowed per millisecond of timeout (calibrated on PGlite: 4–170 units/ms). */
export const DEFAULT_COST_PER_MS = 20;

interface WireMessage {
  name: string;
  fields?: unknown[];
}

export interface PgliteSessionOptions {
  /** Planner cost allowed per ms of `timeoutMs`; see the module comment. */
  costPerMs?: number;
}

/**
 * Runs `fn` with the instance to itself: PGlite's transaction lock (so we never land in
 * the middle of someone else's transaction) and its query lock (one statement at a time).
 */
export function withPgliteSession<T>(db: PGlite, options: PgliteSessionOptions, fn: (session: ReadOnlySession) => Promise<T>): Promise<T> {
  return db._runExclusiveTransaction(() => db.runExclusive(() => fn(pgliteSession(db, options))));
}

function pgliteSession(db: PGlite, options: PgliteSessionOptions): ReadOnlySession {
  const send = async (message: Uint8Array): Promise<WireMessage[]> =>
    (await db.execProtocol(message, { syncToFs: false, onNotice: () => {} })).messages as unknown as WireMessage[];
  const sync = () => send(wire.sync()).catch(() => []);

  /** Parse + Bind + Describe of an unnamed portal; on failure the server wants a Sync. */
  const start = async (sql: string): Promise<RawColumn[]> => {
    try {
      await send(wire.parse({ text: sql }));
      await send(wire.bind({}));
      const described = await send(wire.describe({ type: "P" }));
      const description = described.find((m) => m.name === "rowDescription") as unknown as { fields: Array<{ name: string; dataTypeID: number }> } | undefined;
      return (description?.fields ?? []).map((f) => ({ name: f.name, typeOid: f.dataTypeID }));
    } catch (error) {
      await sync();
      throw error;
    }
  };

  const fetch = async (rows: number): Promise<{ rows: Array<Array<string | null>>; done: boolean }> => {
    const messages = await send(wire.execute({ rows }));
    return {
      rows: messages.filter((m) => m.name === "dataRow").map((m) => m.fields as Array<string | null>),
      done: !messages.some((m) => m.name === "portalSuspended"),
    };
  };

  const session: ReadOnlySession = {
    async control(sql) {
      await send(wire.query(sql));
    },
    async rows(sql) {
      const columns = await start(sql);
      try {
        const all: Array<Array<string | null>> = [];
        for (;;) {
          const batch = await fetch(1000);
          all.push(...batch.rows);
          if (batch.done) break;
        }
        return all.map((fields) => Object.fromEntries(columns.map((c, i) => [c.name, fields[i] ?? null])));
      } finally {
        await sync();
      }
    },
    async open(sql, batchRows): Promise<StatementCursor> {
      const columns = await start(sql);
      let finished = false;
      return {
        async next() {
          if (finished) return { columns, rows: [], done: true };
          try {
            const batch = await fetch(batchRows);
            finished = batch.done;
            return { columns, ...batch };
          } catch (error) {
            finished = true;
            throw error;
          }
        },
        async close() {
          // Sync ends the extended-protocol exchange (and any error state); the portal dies with the transaction.
          await sync();
        },
      };
    },
    async preflight(sql, limits) {
      await checkPlan(session, sql, limits, options.costPerMs ?? DEFAULT_COST_PER_MS);
    },
  };
  return session;
}

/** Statements the planner cannot cost but that run arbitrary work. */
const UNPLANNABLE_RUNAWAYS = new Set(["do", "call", "explain", "copy"]);

async function checkPlan(session: ReadOnlySession, sql: string, limits: ExecuteLimits, costPerMs: number): Promise<void> {
  // A savepoint, so that a statement EXPLAIN cannot take (CREATE TABLE, SET, ...) still
  // reaches the server and fails, or runs, with the server's own message.
  await session.control("SAVEPOINT ledgerline_plan_check");
  let plan: PlanNode | null = null;
  try {
    const [row] = await session.rows(`EXPLAIN (FORMAT JSON, VERBOSE) ${sql}`);
    plan = (JSON.parse(Object.values(row ?? {})[0] ?? "[]") as Array<{ Plan: PlanNode }>)[0]?.Plan ?? null;
    await session.control("RELEASE SAVEPOINT ledgerline_plan_check");
  } catch {
    await session.control("ROLLBACK TO SAVEPOINT ledgerline_plan_check");
  }
  if (!plan) {
    const keyword = leadingKeyword(sql);
    if (UNPLANNABLE_RUNAWAYS.has(keyword)) {
      throw limitExceeded(`${keyword.toUpperCase()} cannot run on the embedded demo database: it cannot interrupt a long-running statement`);
    }
    return;
  }
  const text = JSON.stringify(plan);
  if (/"Node Type":"Recursive Union"/.test(text)) {
    throw limitExceeded("recursive queries cannot run on the embedded demo database: it cannot interrupt a long-running statement");
  }
  if (/\bpg_sleep(?:_for|_until)?\(/.test(text)) {
    throw limitExceeded("pg_sleep cannot run on the embedded demo database: it cannot interrupt a long-running statement");
  }
  const cost = costOfFirstRows(plan, limits.maxRows + 1);
  const budget = limits.timeoutMs * costPerMs;
  if (cost > budget) {
    throw limitExceeded(
      `query too expensive for the embedded demo database (estimated cost ${Math.round(cost)}, limit ${budget} for a ${limits.timeoutMs} ms timeout); add filters, aggregate less or LIMIT the rows`,
    );
  }
}

interface PlanNode {
  "Node Type": string;
  "Startup Cost": number;
  "Total Cost": number;
  "Plan Rows": number;
}

/** What fetching only the first `rows` rows costs: the cursor stops there. */
function costOfFirstRows(plan: PlanNode, rows: number): number {
  const startup = plan["Startup Cost"] ?? 0;
  const total = plan["Total Cost"] ?? 0;
  const fraction = Math.min(1, rows / Math.max(1, plan["Plan Rows"] ?? 1));
  return startup + (total - startup) * fraction;
}

/** First keyword of a statement, past whitespace, comments and opening parentheses. */
export function leadingKeyword(sql: string): string {
  let rest = sql;
  for (;;) {
    const trimmed = rest.replace(/^[\s(]+/, "");
    if (trimmed.startsWith("--")) {
      const newline = trimmed.indexOf("\n");
      rest = newline < 0 ? "" : trimmed.slice(newline + 1);
    } else if (trimmed.startsWith("/*")) {
      const end = trimmed.indexOf("*/");
      rest = end < 0 ? "" : trimmed.slice(end + 2);
    } else {
      return (/^[a-z_]+/i.exec(trimmed)?.[0] ?? "").toLowerCase();
    }
  }
}
