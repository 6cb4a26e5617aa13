CREATE TABLE "users" (
	"id" uuid PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"email" text NOT NULL,
	"email_key" text NOT NULL,
	"username" text,
	"first_name" text,
	"last_name" text,
	"password_sealed" text NOT NULL,
	"is_active" boolean NOT NULL,
	"is_verified" boolean NOT NULL,
	"role_ids" text[] NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"last_position" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "users_org_idx" ON "users" USING btree ("organization_id","created_at");--> statement-breakpoint
CREATE INDEX "users_email_key_idx" ON "users" USING btree ("email_key");