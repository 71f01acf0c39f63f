-- The account lifecycle: links sent by email (password reset, email change), account deletion, and the
-- newsletter's double opt-in (see the PostgreSQL migration of the same name).

CREATE TABLE "AccountToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "userId" TEXT NOT NULL REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "purpose" TEXT NOT NULL CHECK ("purpose" IN ('PASSWORD_RESET', 'EMAIL_CHANGE', 'ACCOUNT_ACTIVATION')),
    "tokenHash" TEXT,
    "newEmail" TEXT,
    "next" TEXT,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CHECK (("newEmail" IS NOT NULL) = ("purpose" = 'EMAIL_CHANGE'))
);
CREATE UNIQUE INDEX "AccountToken_tokenHash_key" ON "AccountToken"("tokenHash");
CREATE INDEX "AccountToken_userId_purpose_idx" ON "AccountToken"("userId", "purpose");

ALTER TABLE "User" ADD COLUMN "deletedAt" DATETIME;
UPDATE "User" SET "emailVerified" = "createdAt" WHERE "emailVerified" IS NULL;

ALTER TABLE "Newsletter" ADD COLUMN "confirmedAt" DATETIME;
UPDATE "Newsletter" SET "confirmedAt" = "createdAt" WHERE "confirmedAt" IS NULL;

-- SQLite cannot change a CHECK in place: the outbox is rebuilt with its new kinds and "tokenId".
CREATE TABLE "OutboundEmail_new" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL CHECK ("kind" IN ('ORDER_CONFIRMATION', 'ORDER_SHIPPED', 'NEWSLETTER_WELCOME',
                                           'NEWSLETTER_CONFIRM', 'ACCOUNT_EXISTS', 'EMAIL_CHANGED', 'PASSWORD_RESET',
                                           'EMAIL_CHANGE', 'ACCOUNT_ACTIVATION')),
    "orderId" TEXT REFERENCES "Order"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "recipient" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL,
    "lastError" TEXT,
    "sentAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "tokenId" TEXT REFERENCES "AccountToken"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CHECK (("orderId" IS NOT NULL) = ("kind" IN ('ORDER_CONFIRMATION', 'ORDER_SHIPPED'))),
    CHECK (("tokenId" IS NOT NULL) = ("kind" IN ('PASSWORD_RESET', 'EMAIL_CHANGE', 'ACCOUNT_ACTIVATION')))
);
INSERT INTO "OutboundEmail_new" ("id", "kind", "orderId", "recipient", "attempts", "nextAttemptAt", "lastError",
                                 "sentAt", "createdAt")
SELECT "id", "kind", "orderId", "recipient", "attempts", "nextAttemptAt", "lastError", "sentAt", "createdAt"
FROM "OutboundEmail";
DROP TABLE "OutboundEmail";
ALTER TABLE "OutboundEmail_new" RENAME TO "OutboundEmail";
CREATE UNIQUE INDEX "OutboundEmail_orderId_kind_key" ON "OutboundEmail"("orderId", "kind");
CREATE INDEX "OutboundEmail_due_idx" ON "OutboundEmail"("nextAttemptAt") WHERE "sentAt" IS NULL;
CREATE INDEX "OutboundEmail_tokenId_idx" ON "OutboundEmail"("tokenId");
