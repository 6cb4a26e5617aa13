CREATE TABLE "data_sources" (
	"id" uuid PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"host" text,
	"port" integer,
	"database_name" text,
	"username" text,
	"ssl" boolean NOT NULL,
	"password_sealed" text,
	"version" integer NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"deleted" boolean NOT NULL,
	"last_position" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "data_sources_org_idx" ON "data_sources" USING btree ("organization_id","name");
--> statement-breakpoint
CREATE TABLE "database_access" (
	"access_id" uuid PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"data_source_id" uuid NOT NULL,
	"data_source_name" text NOT NULL,
	"tables" jsonb,
	"expires_at" timestamp with time zone,
	"granted_by" uuid NOT NULL,
	"granted_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_by" uuid,
	"expired_at" timestamp with time zone,
	"status" text NOT NULL,
	"last_position" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "database_access_user_idx" ON "database_access" USING btree ("user_id");
--> statement-breakpoint
CREATE INDEX "database_access_data_source_idx" ON "database_access" USING btree ("data_source_id");
