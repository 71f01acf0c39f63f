-- The shop's own product photos. An image is named by its content (the first 128 bits of the SHA-256 of the
-- uploaded file, in hex), so one file uploaded twice is one image. The original is kept in the image store;
-- its resized WebP and AVIF variants are made from it. Products refer to an image as
-- "/images/<id>/<width>x<height>" in their "images" array, next to any external URL.
CREATE TABLE "Image" (
    "id" TEXT NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "contentType" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "uploadedBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Image_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Image_uploadedBy_fkey" FOREIGN KEY ("uploadedBy") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Image_size_check" CHECK ("width" > 0 AND "height" > 0 AND "bytes" > 0)
);
CREATE INDEX "Image_createdAt_idx" ON "Image"("createdAt");
