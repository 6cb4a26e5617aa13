import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { commandContext, requestContext } from "../request-context";
import { userJson } from "../presenters";
import { login } from "../../handlers/sessions";

export function authRoutes(deps: Deps) {
  return new Elysia({ prefix: "/auth", detail: { tags: ["Auth"] } })
    .use(requestContext)
    .post(
      "/login",
      async ({ body, meta }) => {
        const issued = await login(deps, commandContext(meta, null), {
          email: body.email,
          password: body.password,
          organization: body.organization ?? body.organization_slug ?? body.organization_id,
        });
        return {
          access_token: issued.accessToken,
          refresh_token: issued.refreshToken,
          token_type: "bearer",
          expires_in: issued.expiresIn,
          user: userJson(issued.user),
        };
      },
      {
        body: t.Object(
          {
            email: t.String({ minLength: 3, maxLength: 320 }),
            password: t.String({ minLength: 1, maxLength: 1024 }),
            organization: t.Optional(t.String({ maxLength: 255 })),
            organization_slug: t.Optional(t.String({ maxLength: 255 })),
            organization_id: t.Optional(t.String({ maxLength: 255 })),
          },
          { additionalProperties: false },
        ),
        detail: { summary: "Log in; `organization` (slug, domain, name or id) may be omitted when the e-mail has one account" },
      },
    );
}
