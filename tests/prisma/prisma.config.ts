// Prisma's CLI with its JavaScript schema engine (the WebAssembly build, over @prisma/adapter-pg), so the tests need
// no native engine download: `prisma migrate deploy|status|resolve` on DATABASE_URL with the migrations in
// VIVR_PRISMA_MIGRATIONS.
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

// adapter-pg 6.19 has no mapping for PostgreSQL's `name` type, which the schema engine's catalog queries return;
// its values are plain text, so it is reported as text.
const Result = require("pg/lib/result");
const addFields = Result.prototype.addFields;
Result.prototype.addFields = function (fields: { dataTypeID: number }[]) {
  for (const field of fields) if (field.dataTypeID === 19) field.dataTypeID = 25;
  return addFields.call(this, fields);
};

// Prisma's native engine sends a migration script to PostgreSQL whole; adapter-pg 6.19 splits it on every `;`, even
// inside comments and strings. The whole script is sent as one simple query, as the native engine does.
function wholeScripts(factory: PrismaPg): PrismaPg {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter: any = await connect();
    adapter.executeScript = async (script: string) => {
      try {
        await adapter.client.query(script);
      } catch (error) {
        adapter.onError(error);
      }
    };
    return adapter;
  };
  return factory;
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "schema.prisma",
  migrations: { path: process.env.VIVR_PRISMA_MIGRATIONS },
  // Idle connections close at once: the CLI only exits when its pool is empty.
  adapter: async () =>
    wholeScripts(new PrismaPg({ connectionString: process.env.DATABASE_URL!, idleTimeoutMillis: 100 })),
});
