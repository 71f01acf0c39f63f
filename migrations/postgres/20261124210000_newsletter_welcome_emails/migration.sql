-- Newsletter sign-ups: one row per address, stored lower-cased and trimmed. Rows the original app wrote as typed
-- are folded the same way; of two that fold to one address, the older sign-up stays.
DELETE FROM "Newsletter"
WHERE EXISTS (
    SELECT 1 FROM "Newsletter" m
    WHERE lower(trim(m."email")) = lower(trim("Newsletter"."email"))
      AND (m."createdAt", m."id") < ("Newsletter"."createdAt", "Newsletter"."id")
);
UPDATE "Newsletter" SET "email" = lower(trim("email")) WHERE "email" <> lower(trim("email"));

-- The welcome email (which carries the unsubscribe link) goes through the same outbox as order emails: an email
-- names an order exactly when it is about one.
-- squawk-ignore ban-drop-not-null -- only vivr reads this table, and it reads "orderId" as optional from this release
ALTER TABLE "OutboundEmail" ALTER COLUMN "orderId" DROP NOT NULL;
ALTER TABLE "OutboundEmail" DROP CONSTRAINT "OutboundEmail_kind_check";
ALTER TABLE "OutboundEmail" ADD CONSTRAINT "OutboundEmail_kind_check"
    CHECK ("kind" IN ('ORDER_CONFIRMATION', 'ORDER_SHIPPED', 'NEWSLETTER_WELCOME'));
ALTER TABLE "OutboundEmail" ADD CONSTRAINT "OutboundEmail_orderId_check"
    CHECK (("orderId" IS NULL) = ("kind" = 'NEWSLETTER_WELCOME'));

