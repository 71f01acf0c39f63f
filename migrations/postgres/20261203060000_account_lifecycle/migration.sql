-- The account lifecycle: links sent by email (password reset, email change), account deletion, and the
-- newsletter's double opt-in.

-- A link sent to a customer by email. Its token is drawn when the email is sent, and only its SHA-256 is kept
-- ("tokenHash" is empty until then). A link works once, until "expiresAt". An email change names the address it
-- will set, which the link was sent to; an activation, the page the new customer was on ("next").
CREATE TABLE "AccountToken" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "tokenHash" TEXT,
    "newEmail" TEXT,
    "next" TEXT,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AccountToken_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "AccountToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "AccountToken_purpose_check" CHECK ("purpose" IN ('PASSWORD_RESET', 'EMAIL_CHANGE', 'ACCOUNT_ACTIVATION')),
    CONSTRAINT "AccountToken_newEmail_check" CHECK (("newEmail" IS NOT NULL) = ("purpose" = 'EMAIL_CHANGE'))
);
CREATE UNIQUE INDEX "AccountToken_tokenHash_key" ON "AccountToken"("tokenHash");
CREATE INDEX "AccountToken_userId_purpose_idx" ON "AccountToken"("userId", "purpose");

-- A deleted account stays as an anonymous row, so that its orders are kept for the accounts.
ALTER TABLE "User" ADD COLUMN "deletedAt" TIMESTAMP(3);
-- An account registered from now on signs in once its address is confirmed ("emailVerified"); the accounts made
-- before this release keep signing in as they did.
UPDATE "User" SET "emailVerified" = "createdAt" WHERE "emailVerified" IS NULL;

-- A sign-up counts once its address confirmed it. Sign-ups made before this release were taken as confirmed.
ALTER TABLE "Newsletter" ADD COLUMN "confirmedAt" TIMESTAMP(3);
UPDATE "Newsletter" SET "confirmedAt" = "createdAt" WHERE "confirmedAt" IS NULL;

-- The outbox carries the new emails; a link's email names its "AccountToken" row (the token itself is never
-- stored).
ALTER TABLE "OutboundEmail" ADD COLUMN "tokenId" TEXT;
ALTER TABLE "OutboundEmail" ADD CONSTRAINT "OutboundEmail_tokenId_fkey" FOREIGN KEY ("tokenId") REFERENCES "AccountToken"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "OutboundEmail" DROP CONSTRAINT "OutboundEmail_kind_check";
ALTER TABLE "OutboundEmail" ADD CONSTRAINT "OutboundEmail_kind_check"
    CHECK ("kind" IN ('ORDER_CONFIRMATION', 'ORDER_SHIPPED', 'NEWSLETTER_WELCOME', 'NEWSLETTER_CONFIRM',
                      'ACCOUNT_EXISTS', 'EMAIL_CHANGED', 'PASSWORD_RESET', 'EMAIL_CHANGE', 'ACCOUNT_ACTIVATION'));
ALTER TABLE "OutboundEmail" DROP CONSTRAINT "OutboundEmail_orderId_check";
ALTER TABLE "OutboundEmail" ADD CONSTRAINT "OutboundEmail_orderId_check"
    CHECK (("orderId" IS NOT NULL) = ("kind" IN ('ORDER_CONFIRMATION', 'ORDER_SHIPPED')));
ALTER TABLE "OutboundEmail" ADD CONSTRAINT "OutboundEmail_tokenId_check"
    CHECK (("tokenId" IS NOT NULL) = ("kind" IN ('PASSWORD_RESET', 'EMAIL_CHANGE', 'ACCOUNT_ACTIVATION')));
CREATE INDEX "OutboundEmail_tokenId_idx" ON "OutboundEmail"("tokenId");
