-- Full-text search. vivr analyses the text itself (folding, splitting, the Snowball French stemmer: the
-- algorithm of the `french` configuration) so that PostgreSQL and SQLite index exactly the same terms:
-- "searchText" now holds every word of the name and description and its stem, and PostgreSQL only splits it
-- at spaces (`simple`) into an inverted index. "searchName" holds the same for the name, for ranking.
-- "searchVersion" names the analysis a row was indexed with: rows below the shop's version (all of them after
-- this migration) are indexed again when `vivr serve` starts, a batch at a time.
ALTER TABLE "Product" ADD COLUMN "searchName" TEXT NOT NULL DEFAULT '';
ALTER TABLE "Product" ADD COLUMN "searchVersion" INTEGER NOT NULL DEFAULT 0;
CREATE INDEX "Product_search_idx" ON "Product" USING GIN (to_tsvector('simple'::regconfig, "searchText"));

-- Every word the catalogue has used, for correcting a shopper's typos against.
CREATE TABLE "SearchTerm" (
    "term" TEXT NOT NULL,
    CONSTRAINT "SearchTerm_pkey" PRIMARY KEY ("term")
);
