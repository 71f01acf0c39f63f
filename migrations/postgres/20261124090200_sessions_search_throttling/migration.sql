-- What the storefront core needs beyond the original schema.

-- Emails are compared case-insensitively: vivr stores them lower-cased, and this index keeps two spellings of
-- one address from becoming two accounts. (If an original database already holds such a pair, this migration
-- fails and names the index; merge the accounts first.)
CREATE UNIQUE INDEX "User_email_lower_key" ON "User"(lower("email"));

-- Server-side sessions reuse the NextAuth "Session" table: "sessionToken" holds the SHA-256 of the cookie
-- token (never the token itself), "expires" slides forward on use.
ALTER TABLE "Session"
    ADD COLUMN "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ADD COLUMN "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
CREATE INDEX "Session_expires_idx" ON "Session"("expires");

-- Accent- and case-insensitive search: "searchText" holds name and description folded (lower case, accents
-- removed). vivr maintains it on every write; rows from the original database are folded here.
ALTER TABLE "Product"
    ADD COLUMN "searchText" TEXT NOT NULL DEFAULT '',
    ADD COLUMN "archivedAt" TIMESTAMP(3);
UPDATE "Product" SET "searchText" = replace(replace(replace(replace(translate(lower("name" || ' ' || "description"),
    'ÀÁÂÃÄÅàáâãäåÈÉÊËèéêëÌÍÎÏìíîïÒÓÔÕÖòóôõöÙÚÛÜùúûüÝýÿÇçÑñ',
    'aaaaaaaaaaaaeeeeeeeeiiiiiiiioooooooooouuuuuuuuyyyccnn'),
    'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae');
CREATE INDEX "Product_archivedAt_idx" ON "Product"("archivedAt");

-- Fixed-window counters for throttling (login per account and per IP). Kept in the database so that every
-- vivr process on this database enforces one limit.
CREATE TABLE "RateLimit" (
    "key" TEXT NOT NULL,
    "windowStart" TIMESTAMP(3) NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "RateLimit_pkey" PRIMARY KEY ("key")
);
