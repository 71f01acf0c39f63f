-- The shop's own product photos (see the PostgreSQL migration of the same name).
CREATE TABLE "Image" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "contentType" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "uploadedBy" TEXT REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CHECK ("width" > 0 AND "height" > 0 AND "bytes" > 0)
);
CREATE INDEX "Image_createdAt_idx" ON "Image"("createdAt");
