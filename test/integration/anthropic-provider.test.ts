/**
 * AnthropicTranslator against a local stub of the Messages API (test/support/anthropic-stub):
 * what the SDK actually puts on the wire (model, tools, granted schema, conversation, auth
 * header; no ungranted table, no secret), how answers become Translations or
 * CannotTranslateError, and how every failure becomes a typed LlmProviderError. No real
 * network: every baseURL points at 127.0.0.1.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { AnthropicTranslator } from "../../src/llm/anthropic";
import { LlmProviderError, asDomainError } from "../../src/llm/errors";
import { generateSql } from "../../src/llm/generate";
import { createTranslator, describeProvider } from "../../src/llm/provider";
import { renderSchema } from "../../src/llm/schema-prompt";
import { CannotTranslateError, type DatabaseSchema, type GuardVerdict, type TableInfo, type TranslationRequest } from "../../src/sql/types";
import {
  cannotAnswerReply,
  errorReply,
  messageReply,
  sqlReply,
  startAnthropicStub,
  toolUseReply,
  type AnthropicStub,
} from "../support/anthropic-stub";

// ---- fixtures ----

const table = (name: string, columns: [string, string][], extra: Partial<TableInfo> = {}): TableInfo => ({
  name,
  schema: "public",
  comment: null,
  columns: columns.map(([col, type], i) => ({
    name: col,
    type,
    nullable: i !== 0,
    default: null,
    is_primary_key: i === 0,
    comment: null,
  })),
  primary_key: [columns[0][0]],
  foreign_keys: [],
  row_estimate: null,
  ...extra,
});

const customers = table(
  "customers",
  [
    ["id", "int4"],
    ["name", "text"],
    ["country", "text"],
  ],
  { comment: "People and companies that placed orders", row_estimate: 1200 },
);
const orderFk = { name: "orders_customer_id_fkey", from_table: "orders", from_columns: ["customer_id"], to_table: "customers", to_columns: ["id"] };
const salaryFk = { name: "orders_approver_fkey", from_table: "orders", from_columns: ["approved_by"], to_table: "employee_salaries", to_columns: ["id"] };
const orders = table(
  "orders",
  [
    ["id", "int4"],
    ["customer_id", "int4"],
    ["total", "numeric"],
    ["ordered_at", "timestamptz"],
    ["approved_by", "int4"],
  ],
  { foreign_keys: [orderFk, salaryFk] },
);
orders.columns[2].comment = "Order total in EUR, taxes included";

/** The caller's grants cover customers and orders; employee_salaries exists but is not granted. */
const grantedSchema: DatabaseSchema = { tables: [customers, orders], relationships: [orderFk, salaryFk] };

const usage = (input_tokens: number, output_tokens: number) => ({ input_tokens, output_tokens });

/** A fake guard: refuses any SQL mentioning `forbidden`. */
const fakeGuard = (sql: string): GuardVerdict =>
  /forbidden/i.test(sql)
    ? { valid: false, statement_type: "SELECT", tables: ["forbidden"], errors: ["table forbidden is not granted", "use LIMIT 100 or less"] }
    : { valid: true, statement_type: "SELECT", tables: ["orders"], errors: [] };

async function thrownBy(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject, it resolved");
}

async function providerErrorOf(promise: Promise<unknown>): Promise<LlmProviderError> {
  const err = await thrownBy(promise);
  expect(err).toBeInstanceOf(LlmProviderError);
  return err as LlmProviderError;
}

/** A port on which nothing listens: bound, then released. */
function closedPort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = s.port!;
  s.stop(true);
  return port;
}

// ---- suite ----

const API_KEY = `sk-ant-canary-${randomBytes(12).toString("hex")}`;
let stub: AnthropicStub;
let translator: AnthropicTranslator;

beforeAll(async () => {
  stub = await startAnthropicStub();
  translator = new AnthropicTranslator({ apiKey: API_KEY, model: "claude-test-model", baseURL: stub.url, timeoutMs: 5_000 });
});
afterAll(async () => {
  await stub.stop();
});
beforeEach(() => stub.reset());

const request = (extra: Partial<TranslationRequest> = {}): TranslationRequest => ({
  question: "What were the top 5 customers by total order value last month?",
  schema: grantedSchema,
  ...extra,
});

describe("AnthropicTranslator, given a stub answering with submit_sql", () => {
  test("when translating / then the SQL, explanation, response model and usage come back", async () => {
    stub.enqueue(sqlReply("SELECT c.name FROM customers c LIMIT 5", "Top customers.", { usage: usage(321, 45), model: "claude-test-model-20250101" }));

    const t = await translator.translate(request());

    expect(t).toEqual({
      sql: "SELECT c.name FROM customers c LIMIT 5",
      explanation: "Top customers.",
      model: "claude-test-model-20250101",
      usage: { input_tokens: 321, output_tokens: 45 },
    });
    expect(stub.messageRequests).toHaveLength(1);
  });

  test("when translating / then the request names the model and forces one of the two tools", async () => {
    stub.enqueue(sqlReply("SELECT 1"));

    await translator.translate(request());

    const body = stub.messageRequests[0].body;
    expect(body.model).toBe("claude-test-model");
    expect(body.max_tokens).toBeGreaterThan(0);
    expect(body.tools.map((t: any) => t.name).sort()).toEqual(["cannot_answer", "submit_sql"]);
    const submit = body.tools.find((t: any) => t.name === "submit_sql");
    expect(submit.input_schema).toMatchObject({ type: "object", required: ["sql", "explanation"] });
    expect(Object.keys(submit.input_schema.properties).sort()).toEqual(["explanation", "sql"]);
    expect(body.tools.find((t: any) => t.name === "cannot_answer").input_schema.required).toEqual(["reason"]);
    expect(body.tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
  });

  test("when translating / then the granted schema is in the system prompt and the ungranted table is nowhere", async () => {
    stub.enqueue(sqlReply("SELECT 1"));

    await translator.translate(request());

    const { body, raw } = stub.messageRequests[0];
    expect(body.system).toContain(renderSchema(grantedSchema));
    expect(body.system).toContain("CREATE TABLE customers (");
    expect(body.system).toContain("CREATE TABLE orders (");
    expect(body.system).toContain("total numeric, -- Order total in EUR, taxes included");
    expect(body.system).toContain("FOREIGN KEY (customer_id) REFERENCES customers (id)");
    expect(body.system).toContain("People and companies that placed orders; about 1200 rows");
    // The FK to the ungranted table must not reveal its name, anywhere in the request.
    expect(raw).not.toContain("employee_salaries");
    expect(raw).not.toContain("orders_approver_fkey");
  });

  test("when a history is given / then the turns go oldest first and the question is the last user turn", async () => {
    stub.enqueue(sqlReply("SELECT 1"));

    await translator.translate(
      request({
        question: "And only those from France?",
        history: [
          { role: "user", content: "Top 5 customers by revenue" },
          { role: "assistant", content: "SELECT name FROM customers ORDER BY revenue DESC LIMIT 5" },
        ],
      }),
    );

    expect(stub.messageRequests[0].body.messages).toEqual([
      { role: "user", content: "Top 5 customers by revenue" },
      { role: "assistant", content: "SELECT name FROM customers ORDER BY revenue DESC LIMIT 5" },
      { role: "user", content: "And only those from France?" },
    ]);
  });

  test("when the history does not alternate / then turns are merged so the API accepts it (the stub checks like the API)", async () => {
    stub.enqueue(sqlReply("SELECT 1"));

    const t = await translator.translate(
      request({
        question: "Q3",
        history: [
          { role: "assistant", content: "Hello! Ask me about your data." },
          { role: "user", content: "Q1" },
          { role: "user", content: "Q2" },
          { role: "assistant", content: "   " },
        ],
      }),
    );

    expect(t.sql).toBe("SELECT 1");
    expect(stub.messageRequests[0].body.messages).toEqual([{ role: "user", content: "Q1\n\nQ2\n\nQ3" }]);
  });

  test("when translating / then the key goes only in the SDK's auth header (Authorization: Bearer), never in the body", async () => {
    stub.enqueue(sqlReply("SELECT 1"));

    await translator.translate(request());

    const { headers, raw } = stub.messageRequests[0];
    expect(headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(headers["x-api-key"]).toBeUndefined();
    expect(headers["anthropic-version"]).toBeTruthy();
    expect(raw).not.toContain(API_KEY);
  });

  test("when previousAttempt is set / then the refused SQL and every guard reason are sent with the question", async () => {
    stub.enqueue(sqlReply("SELECT 1"));

    await translator.translate(request({ previousAttempt: { sql: "SELECT * FROM forbidden", errors: ["table forbidden is not granted", "too many rows"] } }));

    const last = stub.messageRequests[0].body.messages.at(-1);
    expect(last.role).toBe("user");
    expect(last.content).toStartWith("What were the top 5 customers");
    expect(last.content).toContain("SELECT * FROM forbidden");
    expect(last.content).toContain("- table forbidden is not granted");
    expect(last.content).toContain("- too many rows");
  });
});

describe("createTranslator, given a configuration full of secrets and a key", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("when a question is translated / then no secret of the configuration appears in any request", async () => {
    const canaries = {
      SUPER_ADMIN_PASSWORD: `canary-password-${randomBytes(8).toString("hex")}`,
      JWT_SECRET: `canary-jwt-${randomBytes(24).toString("hex")}`,
      DB_PASSWORD: `canarydbpw${randomBytes(8).toString("hex")}`,
      ANTHROPIC_API_KEY: `sk-ant-canary-${randomBytes(16).toString("hex")}`,
    };
    const dataDir = mkdtempSync(join(tmpdir(), "ll-llm-"));
    dirs.push(dataDir);
    const encryptionKey = randomBytes(32).toString("base64");
    const config = loadConfig({
      DATA_DIR: dataDir,
      DATABASE_URL: `postgres://app:${canaries.DB_PASSWORD}@db.internal:5432/ledgerline`,
      JWT_SECRET: canaries.JWT_SECRET,
      DATA_ENCRYPTION_KEY: encryptionKey,
      SUPER_ADMIN_PASSWORD: canaries.SUPER_ADMIN_PASSWORD,
      ANTHROPIC_API_KEY: canaries.ANTHROPIC_API_KEY,
      ANTHROPIC_BASE_URL: stub.url,
      ANTHROPIC_MODEL: "claude-from-config",
    });
    stub.enqueue(sqlReply("SELECT * FROM forbidden"), sqlReply("SELECT 1"));

    const t = createTranslator(config);
    const result = await generateSql(t, request({ history: [{ role: "user", content: "hi" }, { role: "assistant", content: "SELECT 2" }] }), fakeGuard);

    expect(t.provider).toBe("anthropic");
    expect(t.model).toBe("claude-from-config");
    expect(result.attempts).toBe(2);
    expect(stub.messageRequests).toHaveLength(2);
    for (const r of stub.messageRequests) {
      expect(r.body.model).toBe("claude-from-config");
      for (const secret of [...Object.values(canaries), encryptionKey, "db.internal"]) {
        expect(r.raw).not.toContain(secret);
      }
      expect(r.headers.authorization).toBe(`Bearer ${canaries.ANTHROPIC_API_KEY}`);
    }
  });

  test("when the provider is described / then it names anthropic and the model, and never the key", () => {
    const described = describeProvider({ anthropicApiKey: API_KEY, anthropicModel: "claude-x", anthropicBaseUrl: undefined });

    expect(described).toEqual({ provider: "anthropic", model: "claude-x", key_configured: true });
    expect(JSON.stringify(described)).not.toContain(API_KEY);
  });
});

describe("createTranslator and describeProvider, given no key", () => {
  const noKey = { anthropicApiKey: undefined, anthropicBaseUrl: stub?.url, anthropicModel: "claude-unused" };

  test("when described / then the built-in provider, key_configured false", () => {
    expect(describeProvider(noKey)).toEqual({ provider: "builtin", model: "builtin-translator", key_configured: false });
  });

  // The built-in translator is written concurrently (src/llm/builtin.ts); until it lands this cannot run.
  test.skipIf(!existsSync(join(import.meta.dir, "../../src/llm/builtin.ts")))(
    "when created / then the built-in translator, and the stub is never called",
    () => {
      const t = createTranslator(noKey);

      expect(t.provider).toBe("builtin");
      expect(t.model).toBe("builtin-translator");
      expect(stub.messageRequests).toHaveLength(0);
    },
  );
});

describe("generateSql with the Anthropic translator, given a guard that refuses the first SQL", () => {
  test("when the second SQL passes / then attempts 2, usage summed, and the second request carries the reasons", async () => {
    stub.enqueue(sqlReply("SELECT * FROM forbidden", "first", { usage: usage(500, 40) }), sqlReply("SELECT id FROM orders LIMIT 10", "second", { usage: usage(650, 30) }));

    const result = await generateSql(translator, request(), fakeGuard);

    expect(result.attempts).toBe(2);
    expect(result.verdict.valid).toBe(true);
    expect(result.translation.sql).toBe("SELECT id FROM orders LIMIT 10");
    expect(result.usage).toEqual({ input_tokens: 1150, output_tokens: 70 });
    const [first, second] = stub.messageRequests.map((r) => r.body.messages.at(-1).content as string);
    expect(first).not.toContain("refused");
    expect(second).toContain("SELECT * FROM forbidden");
    expect(second).toContain("table forbidden is not granted");
    expect(second).toContain("use LIMIT 100 or less");
  });

  test("when the second SQL is refused too / then the verdict is invalid, attempts 2, and there is no third call", async () => {
    stub.enqueue(sqlReply("SELECT * FROM forbidden", "first", { usage: usage(10, 1) }), sqlReply("SELECT * FROM forbidden f", "second", { usage: usage(20, 2) }));

    const result = await generateSql(translator, request(), fakeGuard);

    expect(result.verdict.valid).toBe(false);
    expect(result.verdict.errors).toContain("table forbidden is not granted");
    expect(result.attempts).toBe(2);
    expect(result.usage).toEqual({ input_tokens: 30, output_tokens: 3 });
    expect(stub.messageRequests).toHaveLength(2);
  });
});

describe("AnthropicTranslator, given answers that are not SQL", () => {
  test("when the model calls cannot_answer / then CannotTranslateError with its reason, usage and model", async () => {
    stub.enqueue(cannotAnswerReply("There is no table about the weather. Try: total orders per month.", { usage: usage(210, 25), model: "claude-m" }));

    const err = await thrownBy(translator.translate(request({ question: "Will it rain tomorrow?" })));

    expect(err).toBeInstanceOf(CannotTranslateError);
    const cannot = err as CannotTranslateError;
    expect(cannot.message).toBe("There is no table about the weather. Try: total orders per month.");
    expect(cannot.usage).toEqual({ input_tokens: 210, output_tokens: 25 });
    expect(cannot.model).toBe("claude-m");
  });

  test("when submit_sql's input is malformed (sql not a string) / then invalid_output, with the tokens it cost", async () => {
    stub.enqueue(toolUseReply("submit_sql", { sql: 42, explanation: "x" }, { usage: usage(90, 9) }));

    const err = await providerErrorOf(translator.translate(request()));

    expect(err.kind).toBe("invalid_output");
    expect(err.details.usage).toEqual({ input_tokens: 90, output_tokens: 9 });
  });

  test("when the answer is prose without a tool call / then invalid_output", async () => {
    stub.enqueue(messageReply([{ type: "text", text: "SELECT 1 -- here you go" }]));

    const err = await providerErrorOf(translator.translate(request()));

    expect(err.kind).toBe("invalid_output");
    expect(err.message).toBe("The language model did not return a usable SQL answer");
  });

  test("when the model calls a tool that was not offered / then invalid_output", async () => {
    stub.enqueue(toolUseReply("drop_database", { please: true }));

    expect((await providerErrorOf(translator.translate(request()))).kind).toBe("invalid_output");
  });
});

describe("AnthropicTranslator, given provider failures", () => {
  test("when the key is rejected (401) / then authentication, one request, and the message never shows the key", async () => {
    stub.enqueue(errorReply(401, { message: `invalid x-api-key ${API_KEY}` }));

    const err = await providerErrorOf(translator.translate(request()));

    expect(err.kind).toBe("authentication");
    expect(err.details.status).toBe(401);
    expect(err.message).not.toContain(API_KEY);
    expect(err.details.providerMessage).toContain("invalid x-api-key");
    expect(err.details.providerMessage).not.toContain(API_KEY);
    expect(stub.messageRequests).toHaveLength(1);
  });

  test("when rate limited (429) with a long Retry-After / then rate_limited with the delay, without sleeping through it to retry", async () => {
    stub.enqueue(errorReply(429, { retryAfter: 30 }), sqlReply("SELECT 1"));

    const err = await providerErrorOf(translator.translate(request()));

    expect(err.kind).toBe("rate_limited");
    expect(err.details.retryAfterSeconds).toBe(30);
    expect(stub.messageRequests).toHaveLength(1);
    const domain = asDomainError(err);
    expect(domain.kind).toBe("unavailable");
    expect(domain.extra.retryAfterSeconds).toBe(30);
  });

  test("when rate limited with a short Retry-After / then the SDK's single retry succeeds", async () => {
    stub.enqueue(errorReply(429, { retryAfter: 0.05 }), sqlReply("SELECT 1", "ok", { usage: usage(7, 3) }));

    const t = await translator.translate(request());

    expect(t.sql).toBe("SELECT 1");
    expect(stub.messageRequests).toHaveLength(2);
  });

  test("when overloaded (529) twice / then overloaded after exactly one SDK retry", async () => {
    stub.enqueue(errorReply(529, { retryAfter: 0 }), errorReply(529, { retryAfter: 0 }), sqlReply("SELECT 1"));

    const err = await providerErrorOf(translator.translate(request()));

    expect(err.kind).toBe("overloaded");
    expect(err.details.status).toBe(529);
    expect(stub.messageRequests).toHaveLength(2);
  });

  test("when the server fails (500) twice / then server_error after exactly one SDK retry", async () => {
    stub.enqueue(errorReply(500, { retryAfter: 0 }), errorReply(500, { retryAfter: 0 }), sqlReply("SELECT 1"));

    const err = await providerErrorOf(translator.translate(request()));

    expect(err.kind).toBe("server_error");
    expect(err.details.status).toBe(500);
    expect(stub.messageRequests).toHaveLength(2);
  });

  test("when the request is refused (400) / then bad_request, not retried", async () => {
    stub.enqueue(errorReply(400, { message: "prompt is too long" }));

    const err = await providerErrorOf(translator.translate(request()));

    expect(err.kind).toBe("bad_request");
    expect(err.details.providerMessage).toContain("prompt is too long");
    expect(stub.messageRequests).toHaveLength(1);
  });

  test("when the provider answers later than the timeout / then timeout", async () => {
    const impatient = new AnthropicTranslator({ apiKey: API_KEY, model: "m", baseURL: stub.url, timeoutMs: 150, maxRetries: 0 });
    stub.enqueue({ ...sqlReply("SELECT 1"), delayMs: 2_000 });

    const err = await providerErrorOf(impatient.translate(request()));

    expect(err.kind).toBe("timeout");
    expect(err.message).toBe("The language model provider did not answer in time");
  });

  test("when nothing listens at the base URL / then connection", async () => {
    const unreachable = new AnthropicTranslator({ apiKey: API_KEY, model: "m", baseURL: `http://127.0.0.1:${closedPort()}`, maxRetries: 0 });

    const err = await providerErrorOf(unreachable.translate(request()));

    expect(err.kind).toBe("connection");
  });
});

describe("AnthropicTranslator, given the model refuses (stop_reason refusal)", () => {
  test("when translating / then CannotTranslateError with the usage spent", async () => {
    stub.enqueue(messageReply([], { stopReason: "refusal", usage: usage(40, 0) }));

    const err = await thrownBy(translator.translate(request()));

    expect(err).toBeInstanceOf(CannotTranslateError);
    expect((err as CannotTranslateError).usage).toEqual({ input_tokens: 40, output_tokens: 0 });
  });
});

describe("renderSchema, the schema text the model reads", () => {
  test("given identifiers that need quoting, another schema and a composite key / then valid SQL spelling", () => {
    const items = table("sales.Order Items", [
      ["order_id", "int4"],
      ["line", "int4"],
      ["user", "text"],
    ], {
      schema: "sales",
      primary_key: ["order_id", "line"],
      foreign_keys: [{ name: "fk", from_table: "sales.Order Items", from_columns: ["order_id"], to_table: "orders", to_columns: ["id"] }],
    });
    items.columns[2].comment = "who\nentered it -- by hand";

    const text = renderSchema({ tables: [orders, items], relationships: [] });

    expect(text).toContain('CREATE TABLE sales."Order Items" (');
    expect(text).toContain('  "user" text, -- who entered it -- by hand');
    expect(text).toContain("  PRIMARY KEY (order_id, line),");
    expect(text).toContain("  FOREIGN KEY (order_id) REFERENCES orders (id)\n);");
    // orders' keys to customers and employee_salaries point outside this schema: neither is shown.
    expect(text).not.toContain("customers");
    expect(text).not.toContain("employee_salaries");
  });

  test("given no granted table / then it says so instead of an empty prompt", () => {
    expect(renderSchema({ tables: [], relationships: [] })).toBe("(no tables)");
  });
});
