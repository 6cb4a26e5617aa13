CREATE TABLE "query_history" (
	"query_id" uuid PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"data_source_id" uuid NOT NULL,
	"chat_session_id" uuid,
	"source" text NOT NULL,
	"question" text,
	"sql" text,
	"tables" jsonb NOT NULL,
	"status" text NOT NULL,
	"row_count" integer,
	"truncated" boolean,
	"error" text,
	"reasons" jsonb,
	"stage" text,
	"generation_ms" double precision NOT NULL,
	"execution_ms" double precision,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"input_tokens" integer NOT NULL,
	"output_tokens" integer NOT NULL,
	"attempts" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"hidden" boolean NOT NULL,
	"hidden_at" timestamp with time zone,
	"last_position" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "query_history_user_idx" ON "query_history" USING btree ("user_id","created_at");
--> statement-breakpoint
CREATE INDEX "query_history_org_idx" ON "query_history" USING btree ("organization_id","created_at");
--> statement-breakpoint
CREATE TABLE "chat_sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"title" text NOT NULL,
	"data_source_id" uuid,
	"message_count" integer NOT NULL,
	"last_message_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"last_position" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "chat_sessions_user_idx" ON "chat_sessions" USING btree ("user_id","updated_at");
--> statement-breakpoint
CREATE TABLE "chat_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"session_id" uuid NOT NULL,
	"organization_id" uuid NOT NULL,
	"role" text NOT NULL,
	"content" text NOT NULL,
	"query_id" uuid,
	"sql" text,
	"columns" jsonb NOT NULL,
	"preview_rows" jsonb NOT NULL,
	"row_count" integer,
	"error" text,
	"created_at" timestamp with time zone NOT NULL,
	"last_position" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "chat_messages_session_idx" ON "chat_messages" USING btree ("session_id","last_position");
