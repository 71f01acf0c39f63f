-- Rating statistics kept on the product row, so that listings and the popular/rating sorts read one row per
-- product instead of aggregating every review on every request. A trigger keeps them exact whoever writes a
-- review (the shop, an admin tool, a data repair), in the same transaction as the review itself.

ALTER TABLE "Product" ADD COLUMN "ratingCount" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "Product" ADD COLUMN "ratingSum" BIGINT NOT NULL DEFAULT 0;

UPDATE "Product" p
SET "ratingCount" = r."count", "ratingSum" = r."sum"
FROM (SELECT "productId", COUNT(*) AS "count", SUM("rating") AS "sum" FROM "Review" GROUP BY "productId") r
WHERE r."productId" = p."id";

CREATE FUNCTION "vivr_review_rating_stats"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE "Product" SET "ratingCount" = "ratingCount" - 1, "ratingSum" = "ratingSum" - OLD."rating"
        WHERE "id" = OLD."productId";
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE "Product" SET "ratingCount" = "ratingCount" + 1, "ratingSum" = "ratingSum" + NEW."rating"
        WHERE "id" = NEW."productId";
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "Review_rating_stats"
AFTER INSERT OR DELETE OR UPDATE OF "rating", "productId" ON "Review"
FOR EACH ROW EXECUTE FUNCTION "vivr_review_rating_stats"();


-- Live products in each order the catalogue offers, and per category: listings and their counts read an index
-- instead of the table. They replace the original indexes that lead with the same columns but cover archived
-- products too: with both present, a planner without statistics (a young SQLite file) picked the old ones and
-- visited the table row by row. The index on "archivedAt" alone goes too: nearly every product is live.
DROP INDEX "Product_archivedAt_idx";
DROP INDEX "Product_createdAt_idx";
DROP INDEX "Product_categoryId_createdAt_idx";
DROP INDEX "Product_categoryId_featured_idx";
CREATE INDEX "Product_live_createdAt_idx" ON "Product"("createdAt" DESC, "id" DESC) WHERE "archivedAt" IS NULL;
CREATE INDEX "Product_live_categoryId_createdAt_idx" ON "Product"("categoryId", "createdAt" DESC, "id" DESC) WHERE "archivedAt" IS NULL;
CREATE INDEX "Product_live_priceCents_idx" ON "Product"("priceCents", "id") WHERE "archivedAt" IS NULL;
CREATE INDEX "Product_live_popular_idx" ON "Product"("ratingCount" DESC, "createdAt" DESC, "id" DESC) WHERE "archivedAt" IS NULL;
