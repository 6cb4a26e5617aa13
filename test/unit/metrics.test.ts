import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { DURATION_BUCKETS, Metrics, metricsPlugin, PROMETHEUS_CONTENT_TYPE } from "../../src/http/metrics";

const lines = (text: string) => text.split("\n").filter((l) => l !== "");
const sampleLines = (text: string, prefix: string) => lines(text).filter((l) => l.startsWith(prefix));

describe("Metrics", () => {
  test("given requests with repeated label sets, when rendered, then the counter sums per label set", () => {
    const metrics = new Metrics();
    metrics.observeRequest("GET", "/api/v1/users", 200, 0.01);
    metrics.observeRequest("GET", "/api/v1/users", 200, 0.02);
    metrics.observeRequest("GET", "/api/v1/users", 404, 0.01);
    metrics.observeRequest("POST", "/api/v1/users", 200, 0.01);

    const out = metrics.render();

    expect(sampleLines(out, "ledgerline_http_requests_total")).toEqual([
      'ledgerline_http_requests_total{method="GET",route="/api/v1/users",status="200"} 2',
      'ledgerline_http_requests_total{method="GET",route="/api/v1/users",status="404"} 1',
      'ledgerline_http_requests_total{method="POST",route="/api/v1/users",status="200"} 1',
    ]);
  });

  test("given the same labels in another order, when counted, then they are one series", () => {
    const metrics = new Metrics();
    metrics.incCounter("jobs_total", "Jobs.", { a: "1", b: "2" });
    metrics.incCounter("jobs_total", "Jobs.", { b: "2", a: "1" }, 4);

    expect(sampleLines(metrics.render(), "jobs_total")).toEqual(['jobs_total{a="1",b="2"} 5']);
  });

  test("given appended events, when rendered, then the events counter adds them up per type", () => {
    const metrics = new Metrics();
    metrics.eventsAppended(3, "UserRegistered");
    metrics.eventsAppended(2, "UserRegistered");
    metrics.eventsAppended(1, "RoleCreated");

    expect(sampleLines(metrics.render(), "ledgerline_events_appended_total")).toEqual([
      'ledgerline_events_appended_total{type="UserRegistered"} 5',
      'ledgerline_events_appended_total{type="RoleCreated"} 1',
    ]);
  });

  test("given durations, when rendered, then histogram buckets are cumulative with _sum, _count and +Inf", () => {
    const metrics = new Metrics();
    for (const seconds of [0.0005, 0.001, 0.003, 0.2, 0.2, 7, 42]) metrics.observeRequest("GET", "/health", 200, seconds);

    const out = metrics.render();
    const name = "ledgerline_http_request_duration_seconds";
    const buckets = sampleLines(out, `${name}_bucket`).map((l) => {
      const m = l.match(/le="([^"]+)"\} (\d+)$/);
      if (!m) throw new Error(`unexpected line ${l}`);
      return [m[1], Number(m[2])] as const;
    });

    expect(buckets.map(([le]) => le)).toEqual([...DURATION_BUCKETS.map(String), "+Inf"]);
    expect(Object.fromEntries(buckets)).toMatchObject({
      "0.001": 2,
      "0.0025": 2,
      "0.005": 3,
      "0.1": 3,
      "0.25": 5,
      "5": 5,
      "10": 6,
      "+Inf": 7,
    });
    const counts = buckets.map(([, n]) => n);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(sampleLines(out, `${name}_count`)).toEqual([`${name}_count{method="GET",route="/health"} 7`]);
    const sum = Number(sampleLines(out, `${name}_sum`)[0].split(" ")[1]);
    expect(sum).toBeCloseTo(0.0005 + 0.001 + 0.003 + 0.2 + 0.2 + 7 + 42, 9);
  });

  test("given label values with quotes, backslashes and newlines, when rendered, then they are escaped", () => {
    const metrics = new Metrics();
    metrics.setGauge("odd_gauge", "Help with a \\ backslash\nand a newline.", { v: 'say "hi"\\now\nnext' }, 1);

    const out = metrics.render();

    expect(lines(out)).toEqual([
      "# HELP odd_gauge Help with a \\\\ backslash\\nand a newline.",
      "# TYPE odd_gauge gauge",
      'odd_gauge{v="say \\"hi\\"\\\\now\\nnext"} 1',
    ]);
  });

  test("given several series per family, when rendered, then HELP and TYPE appear once per family", () => {
    const metrics = new Metrics();
    metrics.observeRequest("GET", "/a", 200, 0.1);
    metrics.observeRequest("GET", "/b", 500, 0.2);
    metrics.setGauge("ledgerline_projection_lag_events", "Events not yet projected.", { projection: "users" }, 3);
    metrics.setGauge("ledgerline_projection_lag_events", "Events not yet projected.", { projection: "roles" }, 0);
    metrics.setGauge("ledgerline_projection_lag_events", "Events not yet projected.", { projection: "users" }, 1);

    const out = metrics.render();
    const comments = lines(out).filter((l) => l.startsWith("#"));

    expect(comments).toEqual([
      "# HELP ledgerline_http_requests_total HTTP requests answered, by method, route template and status code.",
      "# TYPE ledgerline_http_requests_total counter",
      "# HELP ledgerline_http_request_duration_seconds HTTP request duration in seconds, by method and route template.",
      "# TYPE ledgerline_http_request_duration_seconds histogram",
      "# HELP ledgerline_projection_lag_events Events not yet projected.",
      "# TYPE ledgerline_projection_lag_events gauge",
    ]);
    expect(sampleLines(out, "ledgerline_projection_lag_events")).toEqual([
      'ledgerline_projection_lag_events{projection="users"} 1',
      'ledgerline_projection_lag_events{projection="roles"} 0',
    ]);
    expect(out.endsWith("\n")).toBe(true);
  });

  test("given a name used as a counter, when set as a gauge or decremented, then it is refused", () => {
    const metrics = new Metrics();
    metrics.incCounter("things_total", "Things.", {});

    expect(() => metrics.setGauge("things_total", "Things.", {}, 1)).toThrow(TypeError);
    expect(() => metrics.incCounter("things_total", "Things.", {}, -1)).toThrow(RangeError);
    expect(() => metrics.incCounter("bad-name", "Bad.", {})).toThrow(TypeError);
    expect(() => metrics.incCounter("ok_total", "Ok.", { "bad-label": "x" })).toThrow(TypeError);
  });
});

describe("metricsPlugin", () => {
  test("given a collector, when /metrics is scraped, then it runs first and the text format is served", async () => {
    const metrics = new Metrics();
    let lag = 0;
    const app = new Elysia().use(
      metricsPlugin(metrics, async () => {
        lag += 7;
        metrics.setGauge("ledgerline_projection_lag_events", "Events not yet projected.", { projection: "users" }, lag);
      }),
    );

    const res = await app.handle(new Request("http://localhost/metrics"));

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(await res.text()).toContain('ledgerline_projection_lag_events{projection="users"} 7');
  });

  test("given a failing collector, when /metrics is scraped, then it still answers and counts the failure", async () => {
    const metrics = new Metrics();
    metrics.eventsAppended(2);
    const app = new Elysia().use(
      metricsPlugin(metrics, () => {
        throw new Error("read database down");
      }),
    );

    const res = await app.handle(new Request("http://localhost/metrics"));
    const body = await res.text();

    expect(res.status).toBe(200);
    expect(body).toContain("ledgerline_events_appended_total 2");
    expect(body).toContain("ledgerline_metrics_collect_errors_total 1");
  });
});
