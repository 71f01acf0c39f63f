-- The "best rated" order (`sort=rating`) read from an index, like every other order the catalogue offers: the
-- average rating × 1000 (integer arithmetic, the same on both databases), then the number of ratings, then the
-- id, for live products; per category in the next migration. Without them each such page sorted every live
-- product: 250 requests a second on PostgreSQL against 8,000 for the "popular" order, with 10,000 products. The
-- expression is the one the listing's ORDER BY writes (`store::query`), so that the planner matches the two.
CREATE INDEX "Product_live_rating_idx" ON "Product"((CASE WHEN "ratingCount" > 0 THEN "ratingSum" * 1000 / "ratingCount" ELSE 0 END) DESC, "ratingCount" DESC, "id" DESC)
    WHERE "archivedAt" IS NULL;
