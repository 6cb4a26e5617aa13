import { describe, expect, test } from "bun:test";
import { Logger, redact } from "../../src/logger";

describe("logger", () => {
  test("given fields named like secrets at any depth, when logged, then their values are redacted and the rest kept", () => {
    const out: string[] = [];
    const logger = new Logger("info", (l) => out.push(l));
    logger.info("login", { email: "a@b.c", password: "hunter22", nested: { api_key: "k", refresh_token: "r", keep: 1 }, list: [{ authorization: "Bearer x" }] });
    const line = JSON.parse(out[0]);
    expect(line.email).toBe("a@b.c");
    expect(line.password).toBe("[redacted]");
    expect(line.nested).toEqual({ api_key: "[redacted]", refresh_token: "[redacted]", keep: 1 });
    expect(line.list[0].authorization).toBe("[redacted]");
    expect(out[0]).not.toContain("hunter22");
  });

  test("given a level threshold, when lines below it are logged, then they are kept for /admin/logs but not written", () => {
    const out: string[] = [];
    const logger = new Logger("warn", (l) => out.push(l));
    logger.debug("quiet");
    logger.error("loud");
    expect(out.map((l) => JSON.parse(l).msg)).toEqual(["loud"]);
    expect(logger.recent().map((l) => l.msg)).toEqual(["loud", "quiet"]);
    expect(logger.recent({ level: "error" }).map((l) => l.msg)).toEqual(["loud"]);
  });

  test("given more lines than the ring holds, when reading recent lines, then the newest come first and the oldest are gone", () => {
    const logger = new Logger("error", () => {}, 3);
    for (let i = 0; i < 7; i++) logger.info(`m${i}`);
    expect(logger.recent({ limit: 10 }).map((l) => l.msg)).toEqual(["m6", "m5", "m4"]);
    expect(logger.recent({ limit: 2 }).map((l) => l.msg)).toEqual(["m6", "m5"]);
  });

  test("given non-object values, when redacting, then they pass through unchanged", () => {
    expect(redact("text")).toBe("text");
    expect(redact(null)).toBeNull();
    expect(redact([1, { token: "t" }])).toEqual([1, { token: "[redacted]" }]);
  });
});
