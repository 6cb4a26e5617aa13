import { Elysia } from "elysia";

// Prometheus metrics in the text exposition format 0.0.4, hand-rolled: the app needs
// counters, gauges and one histogram family, which is less code than a client library.

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Upper bounds (seconds) of the request duration histogram; +Inf is implicit. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

type Labels = Record<string, string>;

type Sample = { labels: Labels; value: number };
type HistogramSample = { labels: Labels; counts: number[]; sum: number; count: number };

type Family =
  | { type: "counter" | "gauge"; help: string; series: Map<string, Sample> }
  | { type: "histogram"; help: string; buckets: readonly number[]; series: Map<string, HistogramSample> };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabelValue = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function formatLabels(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

// Labels are keyed in name order so {a,b} and {b,a} are one series.
function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class Metrics {
  private readonly families = new Map<string, Family>();
  /** The two series one request touches, per method/route/status: no label keys built per request. */
  private readonly requestSeries = new Map<string, { counter: Sample; histogram: HistogramSample; buckets: readonly number[] }>();

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${status} ${method} ${route}`;
    let series = this.requestSeries.get(key);
    if (!series) {
      this.observeRequestSlow(method, route, status, seconds);
      const counter = this.families.get("ledgerline_http_requests_total") as Extract<Family, { type: "counter" | "gauge" }>;
      const histogram = this.families.get("ledgerline_http_request_duration_seconds") as Extract<Family, { type: "histogram" }>;
      series = {
        counter: counter.series.get(seriesKey({ method, route, status: String(status) }))!,
        histogram: histogram.series.get(seriesKey({ method, route }))!,
        buckets: histogram.buckets,
      };
      this.requestSeries.set(key, series);
      return;
    }
    series.counter.value++;
    const i = series.buckets.findIndex((upper) => seconds <= upper);
    if (i >= 0) series.histogram.counts[i]++;
    series.histogram.sum += seconds;
    series.histogram.count++;
  }

  private observeRequestSlow(method: string, route: string, status: number, seconds: number): void {
    this.incCounter(
      "ledgerline_http_requests_total",
      "HTTP requests answered, by method, route template and status code.",
      { method, route, status: String(status) },
    );
    this.observe(
      "ledgerline_http_request_duration_seconds",
      "HTTP request duration in seconds, by method and route template.",
      { method, route },
      seconds,
    );
  }

  eventsAppended(n: number, type?: string): void {
    this.incCounter(
      "ledgerline_events_appended_total",
      "Events appended to the event store.",
      type === undefined ? {} : { type },
      n,
    );
  }

  incCounter(name: string, help: string, labels: Labels, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`counter ${name} cannot change by ${by}`);
    const family = this.family(name, "counter", help);
    const key = seriesKey(labels);
    const sample = family.series.get(key);
    if (sample) sample.value += by;
    else family.series.set(key, { labels: checkLabels(name, labels), value: by });
  }

  setGauge(name: string, help: string, labels: Labels, value: number): void {
    const family = this.family(name, "gauge", help);
    const key = seriesKey(labels);
    const sample = family.series.get(key);
    if (sample) sample.value = value;
    else family.series.set(key, { labels: checkLabels(name, labels), value });
  }

  /** Forgets every series of a gauge, e.g. before re-reporting the projections that still exist. */
  clearGauge(name: string): void {
    const family = this.families.get(name);
    if (family?.type === "gauge") family.series.clear();
  }

  observe(name: string, help: string, labels: Labels, value: number, buckets: readonly number[] = DURATION_BUCKETS): void {
    let family = this.families.get(name);
    if (!family) {
      checkName(name);
      family = { type: "histogram", help, buckets: [...buckets].sort((a, b) => a - b), series: new Map() };
      this.families.set(name, family);
    } else if (family.type !== "histogram") {
      throw new TypeError(`metric ${name} is a ${family.type}, not a histogram`);
    }
    const key = seriesKey(labels);
    let sample = family.series.get(key);
    if (!sample) {
      sample = { labels: checkLabels(name, labels, "le"), counts: new Array(family.buckets.length).fill(0), sum: 0, count: 0 };
      family.series.set(key, sample);
    }
    // Counts are kept per bucket and made cumulative when rendered.
    const i = family.buckets.findIndex((upper) => value <= upper);
    if (i >= 0) sample.counts[i]++;
    sample.sum += value;
    sample.count++;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.families) {
      if (family.series.size === 0) continue;
      lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`);
      if (family.type === "histogram") {
        for (const s of family.series.values()) {
          let cumulative = 0;
          family.buckets.forEach((upper, i) => {
            cumulative += s.counts[i];
            lines.push(`${name}_bucket${formatLabels(s.labels, ["le", formatValue(upper)])} ${cumulative}`);
          });
          lines.push(`${name}_bucket${formatLabels(s.labels, ["le", "+Inf"])} ${s.count}`);
          lines.push(`${name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}`);
          lines.push(`${name}_count${formatLabels(s.labels)} ${s.count}`);
        }
      } else {
        for (const s of family.series.values()) lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
      }
    }
    return lines.length ? lines.join("\n") + "\n" : "";
  }

  private family(name: string, type: "counter" | "gauge", help: string) {
    let family = this.families.get(name);
    if (!family) {
      checkName(name);
      family = { type, help, series: new Map() };
      this.families.set(name, family);
    } else if (family.type !== type) {
      throw new TypeError(`metric ${name} is a ${family.type}, not a ${type}`);
    }
    return family as Extract<Family, { type: "counter" | "gauge" }>;
  }
}

function checkName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name ${JSON.stringify(name)}`);
}

function checkLabels(metric: string, labels: Labels, reserved?: string): Labels {
  for (const label of Object.keys(labels))
    if (!LABEL_NAME.test(label) || label.startsWith("__") || label === reserved)
      throw new TypeError(`invalid label ${JSON.stringify(label)} on metric ${metric}`);
  return { ...labels };
}

/**
 * `GET /metrics` for Prometheus. `collect` runs before each scrape so the caller can
 * refresh gauges (projection lag, pool sizes); requests are observed by the app itself.
 */
export function metricsPlugin(metrics: Metrics, collect?: () => Promise<void> | void) {
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async () => {
      try {
        await collect?.();
      } catch {
        // A failing collector must not blank the whole scrape: the other series still
        // answer and this counter makes the failure visible.
        metrics.incCounter(
          "ledgerline_metrics_collect_errors_total",
          "Scrapes whose gauge collection failed.",
          {},
        );
      }
      return new Response(metrics.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
    },
    { detail: { tags: ["System"], summary: "Prometheus metrics", security: [] } },
  );
}
