CREATE TABLE "attachments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"task_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"filename" text NOT NULL,
	"content_type" text NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL,
	"storage_key" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "attachments_task_created_idx" ON "attachments" USING btree ("task_id","created_at","id");--> statement-breakpoint
CREATE INDEX "attachments_project_idx" ON "attachments" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "attachments_storage_key_idx" ON "attachments" USING btree ("storage_key");--> statement-breakpoint
-- Every way an attachment row goes (its own DELETE, a task delete, a project purge: the cascades)
-- queues the deletion of its objects in the same transaction, so no object outlives its row for
-- long and none is deleted while its row still exists.
CREATE FUNCTION "attachments_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "jobs" ("id", "type", "payload", "max_attempts")
  SELECT gen_random_uuid(), 'attachment-delete', jsonb_build_object('keys', jsonb_agg("storage_key")), 10
  FROM "gone" HAVING count(*) > 0;
  IF FOUND THEN PERFORM pg_notify('taskbase_jobs', 'attachment-delete'); END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "attachments_deleted" AFTER DELETE ON "attachments" REFERENCING OLD TABLE AS "gone"
  FOR EACH STATEMENT EXECUTE FUNCTION "attachments_deleted"();
