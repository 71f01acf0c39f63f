-- Full-text search (see the PostgreSQL migration of the same name): vivr analyses the text itself, and
-- "searchText" holds every word of the name and description and its stem. FTS5 indexes it, reading the text
-- from "Product" itself (external content, matched by rowid); the triggers keep the index in step with every
-- write. The shop rebuilds the index when it starts, because a copy of the file (`VACUUM INTO`, a restored
-- backup) may renumber the rowids the index points at.
ALTER TABLE "Product" ADD COLUMN "searchName" TEXT NOT NULL DEFAULT '';
ALTER TABLE "Product" ADD COLUMN "searchVersion" INTEGER NOT NULL DEFAULT 0;

CREATE VIRTUAL TABLE "ProductSearch" USING fts5("searchText", content = 'Product', tokenize = 'unicode61');

CREATE TRIGGER "Product_search_insert" AFTER INSERT ON "Product"
BEGIN
    INSERT INTO "ProductSearch" ("rowid", "searchText") VALUES (NEW."rowid", NEW."searchText");
END;

CREATE TRIGGER "Product_search_delete" AFTER DELETE ON "Product"
BEGIN
    INSERT INTO "ProductSearch" ("ProductSearch", "rowid", "searchText") VALUES ('delete', OLD."rowid", OLD."searchText");
END;

CREATE TRIGGER "Product_search_update" AFTER UPDATE OF "searchText" ON "Product"
BEGIN
    INSERT INTO "ProductSearch" ("ProductSearch", "rowid", "searchText") VALUES ('delete', OLD."rowid", OLD."searchText");
    INSERT INTO "ProductSearch" ("rowid", "searchText") VALUES (NEW."rowid", NEW."searchText");
END;

INSERT INTO "ProductSearch" ("ProductSearch") VALUES ('rebuild');

-- Every word the catalogue has used, for correcting a shopper's typos against.
CREATE TABLE "SearchTerm" (
    "term" TEXT NOT NULL PRIMARY KEY
);
