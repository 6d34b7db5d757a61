ALTER TABLE "jobs" ADD COLUMN "group_key" text;--> statement-breakpoint
UPDATE "jobs" SET "group_key" = d."webhook_id"::text FROM "webhook_deliveries" d WHERE "jobs"."type" = 'webhook' AND "jobs"."status" IN ('queued', 'running') AND d."id"::text = "jobs"."payload"->>'delivery_id';
