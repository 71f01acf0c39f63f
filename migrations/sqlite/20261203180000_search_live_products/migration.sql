-- The full-text index holds live products only, so that a search's total is the index's count of its matches,
-- read without visiting a product (an archived product is never listed). The triggers index a product while it
-- is live: inserted live, archived (its entry removed), brought back (indexed again). An external-content index
-- must be told exactly what it holds, so each trigger removes only an entry that was made.
DROP TRIGGER "Product_search_insert";
DROP TRIGGER "Product_search_delete";
DROP TRIGGER "Product_search_update";

CREATE TRIGGER "Product_search_insert" AFTER INSERT ON "Product" WHEN NEW."archivedAt" IS NULL
BEGIN
    INSERT INTO "ProductSearch" ("rowid", "searchText") VALUES (NEW."rowid", NEW."searchText");
END;

CREATE TRIGGER "Product_search_delete" AFTER DELETE ON "Product" WHEN OLD."archivedAt" IS NULL
BEGIN
    INSERT INTO "ProductSearch" ("ProductSearch", "rowid", "searchText") VALUES ('delete', OLD."rowid", OLD."searchText");
END;

CREATE TRIGGER "Product_search_update" AFTER UPDATE OF "searchText", "archivedAt" ON "Product"
BEGIN
    INSERT INTO "ProductSearch" ("ProductSearch", "rowid", "searchText")
        SELECT 'delete', OLD."rowid", OLD."searchText" WHERE OLD."archivedAt" IS NULL;
    INSERT INTO "ProductSearch" ("rowid", "searchText")
        SELECT NEW."rowid", NEW."searchText" WHERE NEW."archivedAt" IS NULL;
END;

INSERT INTO "ProductSearch" ("ProductSearch") VALUES ('delete-all');
INSERT INTO "ProductSearch" ("rowid", "searchText")
    SELECT "rowid", "searchText" FROM "Product" WHERE "archivedAt" IS NULL;
