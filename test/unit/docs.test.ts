import { describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { docsPlugin } from "../../src/http/docs";

// The app mounts every feature twice, like the real one: versioned and as the hidden alias.
const things = (prefix: string) =>
  new Elysia({ prefix }).get("/things", () => [{ id: "1" }], {
    query: t.Object({ page: t.Optional(t.Number()) }),
    response: t.Array(t.Object({ id: t.String() })),
    detail: { tags: ["Things"], summary: "List things" },
  });

const buildApp = () =>
  new Elysia()
    .use(docsPlugin({ title: "Ledgerline", version: "9.9.9" }))
    .use(things("/api/v1"))
    .use(things("/api"));

const get = (app: ReturnType<typeof buildApp>, path: string, headers?: Record<string, string>) =>
  app.handle(new Request(`http://localhost${path}`, { headers }));

const assetUrls = (html: string) =>
  [...html.matchAll(/<(script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map(([, tag, url]) => ({ tag, url }));

describe("docsPlugin", () => {
  test("given versioned and alias routes, when the OpenAPI document is read, then only /api/v1 is listed", async () => {
    const res = await get(buildApp(), "/openapi.json");
    const doc = (await res.json()) as {
      info: { title: string; version: string };
      paths: Record<string, unknown>;
      components: { securitySchemes: Record<string, unknown> };
    };

    expect(res.status).toBe(200);
    expect(doc.info).toMatchObject({ title: "Ledgerline", version: "9.9.9" });
    expect(Object.keys(doc.paths)).toContain("/api/v1/things");
    expect(Object.keys(doc.paths)).not.toContain("/api/things");
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/docs") || p === "/openapi.json")).toEqual([]);
    expect(doc.components.securitySchemes).toEqual({
      bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
    });
  });

  test("given the alias is hidden, when it is called, then it still answers", async () => {
    const res = await get(buildApp(), "/api/things");

    expect(res.status).toBe(200);
  });

  test("given the docs page, when it is read, then every script and stylesheet is same-origin", async () => {
    const res = await get(buildApp(), "/docs");
    const html = await res.text();
    const urls = assetUrls(html);

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    expect(urls.filter(({ tag }) => tag === "script").length).toBeGreaterThan(0);
    expect(urls.filter(({ tag }) => tag === "link").length).toBeGreaterThan(0);
    for (const { url } of urls) {
      expect(url).not.toMatch(/^(?:[a-z]+:)?\/\//i);
      expect(new URL(url, "http://localhost/docs").origin).toBe("http://localhost");
    }
  });

  test("given the docs page's assets, when each is fetched, then it answers 200 with a JS or CSS type", async () => {
    const app = buildApp();
    const html = await (await get(app, "/docs")).text();

    for (const { tag, url } of assetUrls(html)) {
      const { pathname, search } = new URL(url, "http://localhost/docs");
      const res = await get(app, pathname + search);

      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(tag === "script" ? /^text\/javascript/ : /^text\/css/);
      expect(res.headers.get("cache-control")).toContain("max-age");
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });

  test("given a client that accepts gzip, when the bundle is fetched, then it is compressed", async () => {
    const app = buildApp();
    const html = await (await get(app, "/docs")).text();
    const bundle = assetUrls(html).find(({ url }) => url.includes("swagger-ui-bundle.js"));
    if (!bundle) throw new Error("no bundle on the page");

    const plain = await get(app, bundle.url);
    const gzipped = await get(app, bundle.url, { "accept-encoding": "gzip" });

    expect(gzipped.headers.get("content-encoding")).toBe("gzip");
    const raw = new Uint8Array(await plain.arrayBuffer());
    const zipped = new Uint8Array(await gzipped.arrayBuffer());
    expect(zipped.byteLength).toBeLessThan(raw.byteLength / 2);
    expect(Bun.gunzipSync(zipped)).toEqual(raw);
  });

  test("given an unknown asset name, when it is fetched, then it is 404", async () => {
    const res = await get(buildApp(), "/docs/assets/..%2Fpackage.json");

    expect(res.status).toBe(404);
  });
});
