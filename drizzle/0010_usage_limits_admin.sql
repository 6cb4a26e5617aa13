-- Usage ledger (projections/usage): one row per query event, and its daily rollup per
-- organization, user, source (question/sql/chat), provider, model. Rebuildable from events.
CREATE TABLE "usage_queries" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL,
	"query_id" text NOT NULL,
	"organization_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"data_source_id" text,
	"chat_session_id" text,
	"source" text NOT NULL,
	"outcome" text NOT NULL,
	"stage" text,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"generation_ms" double precision,
	"execution_ms" double precision,
	"row_count" integer,
	"tables" text[] NOT NULL,
	"attempts" integer NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "usage_queries_org_time_idx" ON "usage_queries" USING btree ("organization_id","occurred_at");
--> statement-breakpoint
CREATE INDEX "usage_queries_user_time_idx" ON "usage_queries" USING btree ("user_id","occurred_at");
--> statement-breakpoint
CREATE INDEX "usage_queries_time_idx" ON "usage_queries" USING btree ("occurred_at");
--> statement-breakpoint
CREATE TABLE "usage_daily" (
	"organization_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"day" date NOT NULL,
	"source" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"requests" bigint NOT NULL,
	"succeeded" bigint NOT NULL,
	"rejected" bigint NOT NULL,
	"failed" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"generation_ms_sum" double precision NOT NULL,
	"generation_count" bigint NOT NULL,
	"execution_ms_sum" double precision NOT NULL,
	"execution_count" bigint NOT NULL,
	CONSTRAINT "usage_daily_pkey" PRIMARY KEY("organization_id","user_id","day","source","provider","model")
);
--> statement-breakpoint
CREATE INDEX "usage_daily_user_day_idx" ON "usage_daily" USING btree ("user_id","day");
--> statement-breakpoint
CREATE INDEX "usage_daily_org_day_idx" ON "usage_daily" USING btree ("organization_id","day");
--> statement-breakpoint
-- Logins, failures, lockouts and registrations per organization, user and day
-- (projections/auth-activity). Rebuildable from events.
CREATE TABLE "auth_activity_daily" (
	"organization_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"day" date NOT NULL,
	"logins" integer NOT NULL,
	"failures" integer NOT NULL,
	"lockouts" integer NOT NULL,
	"registrations" integer NOT NULL,
	"last_position" bigint NOT NULL,
	CONSTRAINT "auth_activity_daily_pkey" PRIMARY KEY("organization_id","user_id","day")
);
--> statement-breakpoint
CREATE INDEX "auth_activity_daily_org_day_idx" ON "auth_activity_daily" USING btree ("organization_id","day");
--> statement-breakpoint
-- Not read models: the limiter's shared state (src/limits), so that limits hold across
-- API processes. Budgets per (organization, user or the organization itself, period).
CREATE TABLE "token_budget_usage" (
	"organization_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"period" text NOT NULL,
	"period_start" date NOT NULL,
	"reserved" bigint DEFAULT 0 NOT NULL,
	"spent" bigint DEFAULT 0 NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "token_budget_usage_pkey" PRIMARY KEY("organization_id","user_id","period","period_start")
);
--> statement-breakpoint
CREATE TABLE "rate_limit_counters" (
	"user_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "rate_limit_counters_pkey" PRIMARY KEY("user_id","kind","window_start")
);
--> statement-breakpoint
CREATE INDEX "rate_limit_counters_window_idx" ON "rate_limit_counters" USING btree ("window_start");
