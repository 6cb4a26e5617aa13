-- The audit index (projections/audit-log): one row per event, fed by the projector,
-- pointing back to its event by global position and event id. Rebuildable from events.
CREATE TABLE "audit_log" (
	"position" bigint PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"stream_id" text NOT NULL,
	"revision" bigint NOT NULL,
	"event_type" text NOT NULL,
	"resource" text NOT NULL,
	"resource_id" text,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"user_id" uuid,
	"organization_id" uuid,
	"ip" text,
	"user_agent" text,
	"status" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"details" jsonb NOT NULL,
	"metadata" jsonb NOT NULL,
	CONSTRAINT "audit_log_event_id_key" UNIQUE("event_id")
);
--> statement-breakpoint
CREATE INDEX "audit_log_org_position_idx" ON "audit_log" USING btree ("organization_id","position" DESC);
--> statement-breakpoint
CREATE INDEX "audit_log_org_type_position_idx" ON "audit_log" USING btree ("organization_id","event_type","position" DESC);
--> statement-breakpoint
CREATE INDEX "audit_log_org_user_position_idx" ON "audit_log" USING btree ("organization_id","user_id","position" DESC);
--> statement-breakpoint
CREATE INDEX "audit_log_user_position_idx" ON "audit_log" USING btree ("user_id","position" DESC);
--> statement-breakpoint
CREATE INDEX "audit_log_resource_idx" ON "audit_log" USING btree ("resource","resource_id");
--> statement-breakpoint
CREATE INDEX "audit_log_occurred_at_idx" ON "audit_log" USING btree ("occurred_at");
