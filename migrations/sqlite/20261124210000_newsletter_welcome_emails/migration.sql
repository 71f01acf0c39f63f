-- Newsletter sign-ups: one row per address, stored lower-cased and trimmed (see the PostgreSQL migration of the
-- same name).
DELETE FROM "Newsletter"
WHERE EXISTS (
    SELECT 1 FROM "Newsletter" m
    WHERE lower(trim(m."email")) = lower(trim("Newsletter"."email"))
      AND (m."createdAt", m."id") < ("Newsletter"."createdAt", "Newsletter"."id")
);
UPDATE "Newsletter" SET "email" = lower(trim("email")) WHERE "email" <> lower(trim("email"));

-- The welcome email goes through the order emails' outbox: "orderId" becomes optional. SQLite cannot change a
-- column or a CHECK in place, so the table is rebuilt (it holds only the outbox's queue and history).
CREATE TABLE "OutboundEmail_new" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL CHECK ("kind" IN ('ORDER_CONFIRMATION', 'ORDER_SHIPPED', 'NEWSLETTER_WELCOME')),
    "orderId" TEXT REFERENCES "Order"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "recipient" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL,
    "lastError" TEXT,
    "sentAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CHECK (("orderId" IS NULL) = ("kind" = 'NEWSLETTER_WELCOME'))
);
INSERT INTO "OutboundEmail_new" ("id", "kind", "orderId", "recipient", "attempts", "nextAttemptAt", "lastError",
                                 "sentAt", "createdAt")
SELECT "id", "kind", "orderId", "recipient", "attempts", "nextAttemptAt", "lastError", "sentAt", "createdAt"
FROM "OutboundEmail";
DROP TABLE "OutboundEmail";
ALTER TABLE "OutboundEmail_new" RENAME TO "OutboundEmail";
CREATE UNIQUE INDEX "OutboundEmail_orderId_kind_key" ON "OutboundEmail"("orderId", "kind");
CREATE INDEX "OutboundEmail_due_idx" ON "OutboundEmail"("nextAttemptAt") WHERE "sentAt" IS NULL;
