import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

// API reference: the OpenAPI document at /openapi.json and a Swagger UI page at /docs.
// The page's script and stylesheet come from the swagger-ui-dist package and are served
// by the app itself: the openapi plugin's default UI loads them from a CDN and is blank
// on a machine without internet. swagger-ui-dist was chosen over @scalar/api-reference
// because it is one package (12 MB, no runtime dependencies) where Scalar's standalone
// bundle drags in a ~50 MB package plus a Vue dependency tree.

export const SPEC_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";
const ASSETS_PATH = `${DOCS_PATH}/assets`;

// The unversioned `/api/...` alias answers like `/api/v1/...` but must not appear twice
// in the document: drop `/api` and `/api/<anything but v1>`.
export const UNVERSIONED_API_ALIAS = /^\/api(?:\/(?!v1(?:\/|$)).*)?$/;

type Asset = {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  gzipped?: Uint8Array<ArrayBuffer>;
};

const require = createRequire(import.meta.url);

function loadSwaggerUi(): { version: string; assets: Map<string, Asset> } {
  const pkgJson = require.resolve("swagger-ui-dist/package.json");
  const dir = dirname(pkgJson);
  const version: string = JSON.parse(readFileSync(pkgJson, "utf8")).version;
  const assets = new Map<string, Asset>([
    [
      "swagger-ui-bundle.js",
      { body: readFileSync(join(dir, "swagger-ui-bundle.js")), contentType: "text/javascript; charset=utf-8" },
    ],
    ["swagger-ui.css", { body: readFileSync(join(dir, "swagger-ui.css")), contentType: "text/css; charset=utf-8" }],
  ]);
  return { version, assets };
}

// The initializer is a file rather than an inline <script> so the page can run under a
// Content-Security-Policy that allows only same-origin scripts.
function initializerScript(): string {
  const config = {
    url: SPEC_PATH,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    filter: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    // The default validator badge is an image from validator.swagger.io.
    validatorUrl: null,
  };
  return `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle(Object.assign(${JSON.stringify(config)}, {
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl]
  }));
});
`;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function docsPage(title: string, v: string): string {
  const q = `?v=${encodeURIComponent(v)}`;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)} — API reference</title>
  <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css${q}">
  <style>body { margin: 0; }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS_PATH}/swagger-ui-bundle.js${q}"></script>
  <script src="${ASSETS_PATH}/docs.js${q}"></script>
</body>
</html>
`;
}

const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

export function docsPlugin(opts: { title: string; version: string; description?: string }) {
  const { version: uiVersion, assets } = loadSwaggerUi();
  assets.set("docs.js", {
    body: new TextEncoder().encode(initializerScript()),
    contentType: "text/javascript; charset=utf-8",
  });
  // Asset URLs carry the UI version and the app version, so they can be cached forever.
  const assetVersion = `${uiVersion}-${opts.version}`;
  const etag = `"${assetVersion}"`;
  const page = docsPage(opts.title, assetVersion);

  return new Elysia({ name: "docs" })
    .use(
      openapi({
        path: DOCS_PATH,
        specPath: SPEC_PATH,
        // The UI is served below, from local assets.
        provider: null,
        exclude: { paths: [UNVERSIONED_API_ALIAS] },
        documentation: {
          info: {
            title: opts.title,
            version: opts.version,
            description: opts.description ?? `${opts.title} HTTP API`,
          },
          components: {
            securitySchemes: {
              bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
              apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
            },
          },
          // Either credential works everywhere; public routes opt out with
          // `detail: { security: [] }`.
          security: [{ bearerAuth: [] }, { apiKey: [] }],
        },
      }),
    )
    .get(
      DOCS_PATH,
      () =>
        new Response(page, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-cache",
            "content-security-policy": PAGE_CSP,
          },
        }),
      { detail: { hide: true } },
    )
    .get(
      `${ASSETS_PATH}/:file`,
      ({ params, request }) => {
        const asset = assets.get(params.file);
        if (!asset) return new Response("Not Found", { status: 404 });
        const headers: Record<string, string> = {
          "content-type": asset.contentType,
          "cache-control": "public, max-age=31536000, immutable",
          etag,
          vary: "accept-encoding",
        };
        if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
        // The bundle is 1.7 MB raw and ~0.5 MB gzipped; compress once, on first use.
        if (/\bgzip\b/.test(request.headers.get("accept-encoding") ?? "")) {
          asset.gzipped ??= Bun.gzipSync(asset.body);
          return new Response(asset.gzipped, { headers: { ...headers, "content-encoding": "gzip" } });
        }
        return new Response(asset.body, { headers });
      },
      { detail: { hide: true } },
    );
}
