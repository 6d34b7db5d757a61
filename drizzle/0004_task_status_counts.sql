ALTER TABLE "projects" ADD COLUMN "todo_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "in_progress_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "done_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "canceled_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "projects" p SET "todo_count" = c."todo", "in_progress_count" = c."in_progress", "done_count" = c."done", "canceled_count" = c."canceled", "task_count" = c."total" FROM (SELECT "project_id", count(*) FILTER (WHERE "status" = 'todo')::int AS "todo", count(*) FILTER (WHERE "status" = 'in_progress')::int AS "in_progress", count(*) FILTER (WHERE "status" = 'done')::int AS "done", count(*) FILTER (WHERE "status" = 'canceled')::int AS "canceled", count(*)::int AS "total" FROM "tasks" GROUP BY "project_id") c WHERE c."project_id" = p."id";
