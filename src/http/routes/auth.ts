import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { DomainError } from "../../domain/errors";
import { authPlugin, bearerToken } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { currentUserJson } from "../presenters";
import { changePassword, login, logout, refresh, type IssuedTokens } from "../../handlers/sessions";
import { register } from "../../handlers/registration";

const email = t.String({ minLength: 3, maxLength: 320, pattern: "^[^\\s@]+@[^\\s@]+$" });
const organizationFields = {
  organization: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
  organization_slug: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
  organization_id: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
};
const name = t.Optional(t.Union([t.String({ maxLength: 100 }), t.Null()]));

export function authRoutes(deps: Deps) {
  const tokensJson = (issued: IssuedTokens) => {
    return {
      access_token: issued.accessToken,
      // Seed 004's clients read the access token as `token`.
      token: issued.accessToken,
      refresh_token: issued.refreshToken,
      token_type: "bearer" as const,
      expires_in: issued.expiresIn,
      user: currentUserJson(deps, issued.userId)!,
    };
  };

  return new Elysia({ prefix: "/auth", detail: { tags: ["Auth"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .post(
      "/register",
      async ({ body, meta, set }) => {
        const organization = body.organization ?? body.organization_slug ?? body.organization_id;
        if (!organization) {
          throw new DomainError("validation", "Name the organization to join or create", { errors: [{ path: "/body/organization", message: "required" }] });
        }
        const issued = await register(deps, commandContext(meta, null), { ...body, organization });
        set.status = 201;
        const out = tokensJson(issued);
        // Seeds read the user both at the top level and under `user`.
        return { ...out.user, ...out, organization_created: issued.created === "organization" };
      },
      {
        body: t.Object(
          {
            email,
            password: t.String({ minLength: 1, maxLength: 1024 }),
            username: name,
            first_name: name,
            last_name: name,
            ...organizationFields,
          },
          { additionalProperties: false },
        ),
        detail: { summary: "Register: join an organization as its policy allows, or create it as its admin", security: [] },
      },
    )
    .post(
      "/login",
      async ({ body, meta }) => {
        const issued = await login(deps, commandContext(meta, null), {
          email: body.email,
          password: body.password,
          organization: body.organization ?? body.organization_slug ?? body.organization_id,
        });
        return tokensJson(issued);
      },
      {
        body: t.Object(
          { email: t.String({ minLength: 3, maxLength: 320 }), password: t.String({ minLength: 1, maxLength: 1024 }), ...organizationFields },
          { additionalProperties: false },
        ),
        detail: { summary: "Log in; `organization` (slug, domain, name or id) may be omitted when the e-mail has one account", security: [] },
      },
    )
    .post(
      "/refresh",
      async ({ body, request, meta }) => {
        const token = body?.refresh_token ?? bearerToken(request);
        if (!token) throw new DomainError("unauthorized", "Give the refresh token in the body or as 'Authorization: Bearer'");
        const issued = await refresh(deps, commandContext(meta, null), token);
        return tokensJson(issued);
      },
      {
        body: t.Optional(t.Object({ refresh_token: t.Optional(t.String({ maxLength: 512 })) }, { additionalProperties: false })),
        detail: { summary: "Rotate the refresh token; a token used twice ends its session", security: [] },
      },
    )
    .post(
      "/logout",
      async ({ principal, meta }) => {
        if (principal.sessionId) await logout(deps, commandContext(meta, principal), principal.sessionId);
        return { message: "Logged out" };
      },
      {
        auth: true,
        body: t.Optional(t.Object({ refresh_token: t.Optional(t.String({ maxLength: 512 })) }, { additionalProperties: false })),
        detail: { summary: "End the session: its access and refresh tokens stop at once" },
      },
    )
    .get("/me", ({ principal }) => currentUserJson(deps, principal.userId)!, {
      auth: true,
      detail: { summary: "The caller" },
    })
    .post(
      "/change-password",
      async ({ body, principal, meta }) => {
        await changePassword(deps, commandContext(meta, principal), principal, body.current_password, body.new_password);
        return { message: "Password changed; other sessions were ended" };
      },
      {
        auth: true,
        body: t.Object(
          { current_password: t.String({ minLength: 1, maxLength: 1024 }), new_password: t.String({ minLength: 1, maxLength: 1024 }) },
          { additionalProperties: false },
        ),
        detail: { summary: "Change the password; ends the user's other sessions" },
      },
    );
}
