/**
 * A small HTTP load generator, run as its own process so it does not share a JS thread
 * with the server it measures:
 *
 *   bun bench/loadgen.ts --url http://127.0.0.1:PORT/path [-H "name: value"]...
 *       [--connections 32] [--duration 10] [--warmup 2] [--method GET] [--body '{...}']
 *       [--expect 200]
 *
 * N concurrent keep-alive fetch loops run for warm-up + duration seconds; only requests
 * that complete inside the measured window count. A response whose status is not
 * --expect (or a fetch that throws) is an error. Prints one JSON line on stdout:
 * requests, errors, statuses, rps, p50/p99/max latency (ms), a mergeable latency
 * histogram, and the client's own CPU time.
 *
 * Bounded: duration <= 120 s, warm-up <= 30 s, connections <= 512; targets on 127.0.0.1 only.
 */

export interface LoadgenResult {
  url: string;
  method: string;
  connections: number;
  durationS: number;
  warmupS: number;
  /** Requests completed (any status) in the measured window. */
  requests: number;
  /** Of those: wrong status or a thrown fetch. */
  errors: number;
  statuses: Record<string, number>;
  /** First error text seen, if any (status + start of the body, or the exception). */
  firstError: string | null;
  /** Completed requests per second over the measured window (errors included). */
  rps: number;
  /** Requests with the expected status per second. */
  okRps: number;
  p50: number;
  p99: number;
  max: number;
  /** Sparse latency histogram: bucket index -> count; see bucketOf/bucketUpperMs. */
  histogram: Record<string, number>;
  /** The generator's own CPU seconds (user + system) over the measured window. */
  clientCpuS: number;
}

/** Log-scale buckets: 2% wide, from 1 us. */
const GROWTH = 1.02;
export function bucketOf(ms: number): number {
  const us = Math.max(1, ms * 1000);
  return Math.floor(Math.log(us) / Math.log(GROWTH));
}
export function bucketUpperMs(bucket: number): number {
  return GROWTH ** (bucket + 1) / 1000;
}
/** Percentile (0..1) of a histogram, as the upper bound of the bucket holding it. */
export function histogramPercentile(histogram: Record<string, number>, q: number): number {
  const entries = Object.entries(histogram)
    .map(([b, n]) => [Number(b), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return NaN;
  const rank = Math.min(total - 1, Math.floor(q * total));
  let seen = 0;
  for (const [b, n] of entries) {
    seen += n;
    if (seen > rank) return bucketUpperMs(b);
  }
  return bucketUpperMs(entries[entries.length - 1][0]);
}
export function mergeHistograms(parts: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of parts) for (const [b, n] of Object.entries(h)) out[b] = (out[b] ?? 0) + n;
  return out;
}

interface Options {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  connections: number;
  durationS: number;
  warmupS: number;
  expect: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { url: "", method: "GET", headers: {}, connections: 32, durationS: 10, warmupS: 2, expect: 200 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case "--url":
        opts.url = value();
        break;
      case "-H":
      case "--header": {
        const h = value();
        const colon = h.indexOf(":");
        if (colon <= 0) fail(`bad header ${JSON.stringify(h)} (expected "name: value")`);
        opts.headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
        break;
      }
      case "-c":
      case "--connections":
        opts.connections = Number(value());
        break;
      case "-d":
      case "--duration":
        opts.durationS = Number(value());
        break;
      case "--warmup":
        opts.warmupS = Number(value());
        break;
      case "--method":
        opts.method = value().toUpperCase();
        break;
      case "--body":
        opts.body = value();
        break;
      case "--expect":
        opts.expect = Number(value());
        break;
      default:
        fail(`unknown argument ${arg}`);
    }
  }
  let parsed: URL;
  try {
    parsed = new URL(opts.url);
  } catch {
    fail(`--url: not a URL: ${JSON.stringify(opts.url)}`);
  }
  // A benchmark tool, not a stress tool for other people's machines.
  if (parsed.protocol !== "http:" || parsed.hostname !== "127.0.0.1") fail("--url must be http://127.0.0.1:<port>/...");
  if (!Number.isInteger(opts.connections) || opts.connections < 1 || opts.connections > 512) fail("--connections must be 1..512");
  if (!(opts.durationS > 0 && opts.durationS <= 120)) fail("--duration must be in (0, 120] seconds");
  if (!(opts.warmupS >= 0 && opts.warmupS <= 30)) fail("--warmup must be in [0, 30] seconds");
  if (!Number.isInteger(opts.expect)) fail("--expect must be a status code");
  return opts;
}

function fail(message: string): never {
  process.stderr.write(`loadgen: ${message}\n`);
  process.exit(2);
}

export async function runLoad(opts: Options): Promise<LoadgenResult> {
  const started = performance.now();
  const windowStart = started + opts.warmupS * 1000;
  const windowEnd = windowStart + opts.durationS * 1000;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;
  let cpuAtWindow: NodeJS.CpuUsage | null = null;
  const init: RequestInit = { method: opts.method, headers: opts.headers, body: opts.body, keepalive: true };

  const loop = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= windowEnd) return;
      if (cpuAtWindow === null && t0 >= windowStart) cpuAtWindow = process.cpuUsage();
      let status = "exception";
      let error: string | null = null;
      try {
        const res = await fetch(opts.url, init);
        const body = await res.arrayBuffer();
        status = String(res.status);
        if (res.status !== opts.expect) error = `${res.status}: ${new TextDecoder().decode(body.slice(0, 200))}`;
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const t1 = performance.now();
      if (t1 < windowStart || t1 > windowEnd) {
        // Warm-up, or finished after the window closed: not counted. A failing warm-up
        // still shows up if it keeps failing inside the window.
        if (error && t1 < windowStart) await Bun.sleep(1);
        continue;
      }
      requests++;
      statuses[status] = (statuses[status] ?? 0) + 1;
      latencies.push(t1 - t0);
      if (error) {
        errors++;
        firstError ??= error;
        // A refused connection would otherwise spin.
        if (status === "exception") await Bun.sleep(1);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, loop));
  const cpu = process.cpuUsage(cpuAtWindow ?? undefined);

  const sorted = Float64Array.from(latencies).sort();
  const pick = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  const histogram: Record<string, number> = {};
  for (const l of latencies) {
    const b = bucketOf(l);
    histogram[b] = (histogram[b] ?? 0) + 1;
  }
  return {
    url: opts.url,
    method: opts.method,
    connections: opts.connections,
    durationS: opts.durationS,
    warmupS: opts.warmupS,
    requests,
    errors,
    statuses,
    firstError,
    rps: requests / opts.durationS,
    okRps: (requests - errors) / opts.durationS,
    p50: pick(0.5),
    p99: pick(0.99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    histogram,
    clientCpuS: (cpu.user + cpu.system) / 1e6,
  };
}

if (import.meta.main) {
  const opts = parseArgs(process.argv.slice(2));
  const result = await runLoad(opts);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
}
