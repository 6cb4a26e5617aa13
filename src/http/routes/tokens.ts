import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { rateLimitCheckFor, setTokenLimitsFor, tokenDashboardFor, tokenLimitsFor, tokenUsageFor, MAX_DAYS } from "../../handlers/usage";

const days = t.Optional(t.Numeric({ minimum: 1, maximum: MAX_DAYS }));
const tokenLimit = t.Optional(t.Union([t.Integer({ minimum: 0, maximum: 1e12 }), t.Null()]));
const rateLimit = t.Optional(t.Union([t.Integer({ minimum: 0, maximum: 1e6 }), t.Null()]));

export function tokensRoutes(deps: Deps) {
  return new Elysia({ prefix: "/tokens", detail: { tags: ["Token usage"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get("/usage", ({ query, principal }) => tokenUsageFor(deps, principal, query.days), {
      auth: { permission: "tokens.read" },
      query: t.Object({ days }),
      detail: { summary: "The caller's LLM token usage over the last `days` UTC days (default 30): totals, today, by source, by model, per day" },
    })
    .get("/limits", ({ query, principal }) => tokenLimitsFor(deps, principal, query.organization_id || undefined), {
      auth: { permission: "tokens.read" },
      query: t.Object({ organization_id: t.Optional(t.String({ maxLength: 100 })) }),
      detail: {
        summary:
          "The organization's token limits (null: unlimited; defaults until an admin sets them) and the caller's standing against them; a super admin names organization_id",
      },
    })
    .put(
      "/limits",
      ({ body, meta, principal }) => setTokenLimitsFor(deps, commandContext(meta, principal), principal, body),
      {
        auth: { permission: "tokens.manage" },
        body: t.Object(
          {
            user_daily_tokens: tokenLimit,
            organization_monthly_tokens: tokenLimit,
            query_requests_per_minute: rateLimit,
            chat_requests_per_minute: rateLimit,
            requests_per_minute: rateLimit,
            organization_id: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Set token limits (TokenLimitsSet): per-user daily tokens, per-organization monthly tokens, per-user requests per minute on query and chat (`requests_per_minute` sets both); null removes a limit. A super admin names organization_id",
        },
      },
    )
    .get("/rate-limit-check", ({ principal }) => rateLimitCheckFor(deps, principal), {
      auth: { permission: "tokens.read" },
      detail: { summary: "Whether the caller is within every limit right now, and what remains of each (takes nothing)" },
    })
    .get("/dashboard", ({ query, principal }) => tokenDashboardFor(deps, principal, query.days), {
      auth: { permission: "tokens.read" },
      query: t.Object({ days }),
      detail: { summary: "Token usage summary for a dashboard: period totals, today and this month against the limits, top models, tokens per day" },
    });
}
