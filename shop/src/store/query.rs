//! The catalogue listing query: validated filters, and the SQL they turn into. The SQL is assembled only from
//! the fixed fragments below; every value travels as a bind parameter.

use super::Backend;
use super::db::{Arg, Sql, assembled};
use crate::domain::{Money, QueryWord, Slug};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProductSort {
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
    Popular,
    Rating,
    /// Search matches in the name first, then the most reviewed; without a search, the same as `Popular`.
    Relevance,
}

impl ProductSort {
    pub const ALL: [ProductSort; 6] = [
        ProductSort::Relevance,
        ProductSort::Newest,
        ProductSort::PriceAsc,
        ProductSort::PriceDesc,
        ProductSort::Popular,
        ProductSort::Rating,
    ];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProductSort::Newest => "newest",
            ProductSort::PriceAsc => "price-asc",
            ProductSort::PriceDesc => "price-desc",
            ProductSort::Popular => "popular",
            ProductSort::Rating => "rating",
            ProductSort::Relevance => "relevance",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            ProductSort::Newest => "Plus récents",
            ProductSort::PriceAsc => "Prix croissant",
            ProductSort::PriceDesc => "Prix décroissant",
            ProductSort::Popular => "Populaires",
            ProductSort::Rating => "Mieux notés",
            ProductSort::Relevance => "Pertinence",
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            ProductSort::Newest => r#"p."createdAt" DESC, p."id" DESC"#,
            ProductSort::PriceAsc => r#"p."priceCents" ASC, p."id" ASC"#,
            ProductSort::PriceDesc => r#"p."priceCents" DESC, p."id" DESC"#,
            ProductSort::Popular | ProductSort::Relevance => {
                r#"p."ratingCount" DESC, p."createdAt" DESC, p."id" DESC"#
            }
            // Integer arithmetic keeps both databases in agreement: average × 1000, truncated.
            ProductSort::Rating => {
                r#"CASE WHEN p."ratingCount" > 0 THEN p."ratingSum" * 1000 / p."ratingCount" ELSE 0 END DESC,
                   p."ratingCount" DESC, p."id" DESC"#
            }
        }
    }
}

/// A validated catalogue query (see `routes::catalog` for how the query string is parsed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductQuery {
    pub category: Option<Slug>,
    /// The words searched for (see `domain::search`); a product must match every one.
    pub search: Vec<QueryWord>,
    pub min_price: Option<Money>,
    pub max_price: Option<Money>,
    pub featured: Option<bool>,
    pub in_stock: Option<bool>,
    /// Reduced products only (a former price above the price), or only those that are not.
    pub on_sale: Option<bool>,
    pub sort: ProductSort,
    pub page: u32,
    pub limit: u32,
}

impl Default for ProductQuery {
    fn default() -> Self {
        Self {
            category: None,
            search: Vec::new(),
            min_price: None,
            max_price: None,
            featured: None,
            in_stock: None,
            on_sale: None,
            sort: ProductSort::default(),
            page: 1,
            limit: 12,
        }
    }
}

/// The columns of a `ProductRow` (`p` is the product, `c` its category), and where they come from.
macro_rules! product_fields {
    () => {
        r#"SELECT p."id", p."name", p."slug", p."description", p."priceCents",
    p."comparePriceCents", p."images", p."stock", p."featured", p."createdAt", p."updatedAt",
    c."id" AS "categoryId", c."name" AS "categoryName", c."slug" AS "categorySlug",
    p."ratingCount", p."ratingSum""#
    };
}
macro_rules! product_from {
    () => {
        r#"
FROM "Product" p
LEFT JOIN "Category" c ON c."id" = p."categoryId"
"#
    };
}

pub(super) const PRODUCT_COLUMNS: &str = concat!(product_fields!(), product_from!());

/// The search as PostgreSQL's `to_tsquery` reads it: `(lamp | lampes:*) & (velour | velours:*)`. Query words are
/// letters and digits only (`domain::search` splits at everything else), so nothing in them is an operator.
fn tsquery(words: &[QueryWord]) -> String {
    words
        .iter()
        .map(|w| format!("({} | {}:*)", w.stem, w.word))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The same search as an FTS5 query: `("lamp" OR "lampes"*) AND ("velour" OR "velours"*)`.
fn fts5_query(words: &[QueryWord]) -> String {
    words
        .iter()
        .map(|w| format!("(\"{}\" OR \"{}\"*)", w.stem, w.word))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// A LIKE pattern with `%` and `_` taken literally.
fn like_literal(before: &str, text: &str, after: &str) -> String {
    let mut escaped = String::from(before);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push_str(after);
    escaped
}

impl ProductQuery {
    /// The WHERE clause and its binds, numbered from `$1`.
    fn filter(&self, backend: Backend) -> (String, Vec<Arg>) {
        let mut sql = String::from(r#"WHERE p."archivedAt" IS NULL"#);
        let mut binds = Vec::new();
        let mut push = |sql: &mut String, fragment: &str, bind: Arg| {
            binds.push(bind);
            sql.push_str(&fragment.replace("$?", &format!("${}", binds.len())));
        };
        if let Some(category) = &self.category {
            push(
                &mut sql,
                r#" AND p."categoryId" = (SELECT "id" FROM "Category" WHERE "slug" = $?)"#,
                Arg::from(category.as_str().to_string()),
            );
        }
        if !self.search.is_empty() {
            match backend {
                Backend::Postgres => push(
                    &mut sql,
                    r#" AND to_tsvector('simple'::regconfig, p."searchText") @@ to_tsquery('simple'::regconfig, $?)"#,
                    Arg::from(tsquery(&self.search)),
                ),
                // The full-text index is joined in (see `ProductQuery::source`).
                Backend::Sqlite => push(
                    &mut sql,
                    r#" AND "ProductSearch" MATCH $?"#,
                    Arg::from(fts5_query(&self.search)),
                ),
            }
        }
        if let Some(min) = self.min_price {
            push(
                &mut sql,
                r#" AND p."priceCents" >= $?"#,
                Arg::from(min.cents()),
            );
        }
        if let Some(max) = self.max_price {
            push(
                &mut sql,
                r#" AND p."priceCents" <= $?"#,
                Arg::from(max.cents()),
            );
        }
        if let Some(featured) = self.featured {
            push(&mut sql, r#" AND p."featured" = $?"#, Arg::from(featured));
        }
        match self.in_stock {
            Some(true) => sql.push_str(r#" AND p."stock" > 0"#),
            Some(false) => sql.push_str(r#" AND p."stock" <= 0"#),
            None => {}
        }
        match self.on_sale {
            Some(true) => sql.push_str(r#" AND p."comparePriceCents" > p."priceCents""#),
            Some(false) => sql.push_str(
                r#" AND (p."comparePriceCents" IS NULL OR p."comparePriceCents" <= p."priceCents")"#,
            ),
            None => {}
        }
        (sql, binds)
    }

    /// What the filter reads: the products, and on SQLite for a search the full-text index joined to them (the
    /// index's matches drive the join, each product then read by its rowid).
    fn source(&self, backend: Backend) -> &'static str {
        if backend == Backend::Sqlite && !self.search.is_empty() {
            r#""ProductSearch" JOIN "Product" p ON p."rowid" = "ProductSearch"."rowid""#
        } else {
            r#""Product" p"#
        }
    }

    /// Whether nothing but the category (if any) and the search (if any) narrows the listing.
    fn only_category_and_search(&self) -> bool {
        self.min_price.is_none()
            && self.max_price.is_none()
            && self.featured.is_none()
            && self.in_stock.is_none()
            && self.on_sale.is_none()
    }

    /// The listing's total as an SQL expression over the filter (its WHERE clause) and its binds (the same `$n`).
    /// The whole catalogue and a category's listing read the counts that triggers keep on each category row
    /// (migration `listing_counts`) instead of counting products. A search alone on SQLite counts the full-text
    /// index's matches without reading a product: the index holds only live products (migration
    /// `search_live_products`). Any other filter counts its matches.
    fn total(&self, backend: Backend, filter: &str) -> String {
        let counted_per_category = self.search.is_empty() && self.only_category_and_search();
        if backend == Backend::Sqlite
            && self.category.is_none()
            && !self.search.is_empty()
            && self.only_category_and_search()
        {
            // The search is the filter's only bind.
            return r#"(SELECT COUNT(*) FROM "ProductSearch" WHERE "ProductSearch" MATCH $1)"#
                .into();
        }
        match (&self.category, counted_per_category) {
            // The category's slug is the filter's first bind.
            (Some(_), true) => {
                r#"COALESCE((SELECT "productCount" FROM "Category" WHERE "slug" = $1), 0)"#.into()
            }
            (None, true) => {
                // The categories read in the menu's order, so through its index: a category's row is rewritten
                // with each count, and after a bulk load its table can be large enough that a sequential scan
                // costs more than the page (migration `20261203160000_category_reads`).
                r#"(CAST(COALESCE((SELECT SUM(n) FROM (SELECT "productCount" AS n FROM "Category" ORDER BY "name", "id") AS counted), 0) AS BIGINT)
    + (SELECT COUNT(*) FROM "Product" WHERE "archivedAt" IS NULL AND "categoryId" IS NULL))"#
                    .into()
            }
            _ => format!(
                r#"(SELECT COUNT(*) FROM {} {filter})"#,
                self.source(backend)
            ),
        }
    }

    /// For a search sorted by relevance: how many of the words the name holds (a stem as a whole term, or a word
    /// beginning a term), plus how many it begins with ("table" puts "Table basse" before "Lampe de table"). The
    /// same expression on both databases.
    fn name_matches(&self, binds: &mut Vec<Arg>) -> String {
        let mut terms = Vec::with_capacity(self.search.len() * 2);
        for w in &self.search {
            for (before, after) in [("% ", " %"), ("", " %")] {
                binds.push(Arg::from(like_literal(before, &w.stem, after)));
                binds.push(Arg::from(like_literal(before, &w.word, "%")));
                let name = if before.is_empty() {
                    r#"(p."searchName" || ' ')"#
                } else {
                    r#"(' ' || p."searchName" || ' ')"#
                };
                terms.push(format!(
                    r#"CASE WHEN {name} LIKE ${} ESCAPE '\' OR {name} LIKE ${} ESCAPE '\' THEN 1 ELSE 0 END"#,
                    binds.len() - 1,
                    binds.len()
                ));
            }
        }
        terms.join(" + ")
    }

    /// One page of the listing with its total: on PostgreSQL a row per product, each with the listing's total
    /// (`ListingRow`, and [`ProductQuery::count`] for a page past the end); on SQLite one row, the total and the
    /// page's products as a JSON array in order (`ListingJson`). SQLite hands each row from its thread to the
    /// runtime's, which cost more than reading it; PostgreSQL builds JSON slower than it sends rows.
    /// With `menu`, on SQLite, the row also carries the menu's categories as a JSON array (`MENU_JSON`), so that a
    /// listing page reads them in the same statement.
    pub(super) fn page(&self, backend: Backend, menu: bool) -> Sql {
        let (sql, binds) = self.page_sql(backend, menu);
        assembled(sql).bind_all(binds)
    }

    /// How many products the listing has in all.
    pub(super) fn count(&self, backend: Backend) -> Sql {
        let (filter, binds) = self.filter(backend);
        assembled(format!("SELECT {}", self.total(backend, &filter))).bind_all(binds)
    }

    /// The page's rows. A deep page first chooses its products by their keys alone, which the listing indexes
    /// hold (an index-only scan: the `OFFSET` skips index entries, not table rows), then reads them whole; so
    /// does a search, whose matches are many and its page few.
    fn page_sql(&self, backend: Backend, menu: bool) -> (String, Vec<Arg>) {
        let (filter, mut binds) = self.filter(backend);
        let total = self.total(backend, &filter);
        let order = if self.sort == ProductSort::Relevance && !self.search.is_empty() {
            format!(
                "({}) DESC, {}",
                self.name_matches(&mut binds),
                self.sort.order_by()
            )
        } else {
            self.sort.order_by().to_string()
        };
        // The page's size and position are numbers (validated `u32`s), written into the text rather than bound:
        // PostgreSQL plans a statement whose LIMIT and OFFSET are parameters anew on every run (its generic plan
        // assumes a tenth of the table), which cost more than running it; with them in the text, each connection
        // plans a page once and keeps the plan with the prepared statement.
        let limit = self.limit;
        let offset = u64::from(self.page.saturating_sub(1)) * u64::from(limit);
        let fields = product_fields!();
        let from = product_from!();
        let source = self.source(backend);
        // A search, or a deep page, first chooses the page's products by the little the order needs, then reads
        // those whole: a search's matches (a deep page's index entries) are many, the page's products few.
        let chosen_first = !self.search.is_empty() || offset >= DEFERRED_FROM_OFFSET;
        let key = match backend {
            Backend::Postgres => r#"p."id""#,
            Backend::Sqlite => r#"p."rowid""#,
        };
        // What the page is chosen from. A search on PostgreSQL reads its matches in a subquery the planner plans
        // apart (`OFFSET 0` keeps it from being merged into the query around it): otherwise, seeing an index in
        // the page's order (the rating's), it walked that index testing every product against the search, all
        // of them since the total counts every match (12 requests a second instead of 1,500).
        let chosen_from = match backend {
            Backend::Postgres if !self.search.is_empty() => {
                format!(r#"(SELECT p.* FROM "Product" p {filter} OFFSET 0) p"#)
            }
            _ => format!("{source} {filter}"),
        };
        let rows = |chosen: &str, extra: &str| {
            if chosen_first {
                format!(
                    r#"{fields}{extra}{from}JOIN (
    SELECT {key} AS "key"{chosen} FROM {chosen_from}
    ORDER BY {order}
    LIMIT {limit} OFFSET {offset}) m ON m."key" = {key}
ORDER BY {order}"#
                )
            } else {
                format!(
                    "{fields}{extra}{from}{filter}\nORDER BY {order}\nLIMIT {limit} OFFSET {offset}"
                )
            }
        };
        // The menu's categories with the page (SQLite; see `list_products_and_categories`).
        let menu = if menu && backend == Backend::Sqlite {
            format!(r#", {MENU_JSON} AS "menu""#)
        } else {
            String::new()
        };
        let sql = match backend {
            // A search's total is counted over the matches its page is chosen from, so that they are read once
            // (counting them apart visited every match a second time).
            Backend::Postgres if !self.search.is_empty() => rows(
                r#", COUNT(*) OVER () AS "listingTotal""#,
                r#", m."listingTotal""#,
            ),
            Backend::Postgres => rows("", &format!(r#", {total} AS "listingTotal""#)),
            Backend::Sqlite => {
                // The products' columns come out under the names the ordering uses (`p."createdAt"`…), so the
                // array is ordered by the same expression as the page.
                let object = PRODUCT_JSON_KEYS
                    .iter()
                    .map(|key| format!(r#"'{key}', p."{key}""#))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    r#"SELECT {total} AS "total",
    COALESCE(json_group_array(json_object({object}) ORDER BY {order}), '[]') AS "items"{menu}
FROM ({rows}) p"#,
                    rows = rows("", r#", p."searchName""#)
                )
            }
        };
        (sql, binds)
    }
}

impl super::SqlStore {
    /// The database's plan for a listing page, a line per step (`EXPLAIN`; SQLite's `EXPLAIN QUERY PLAN`): to
    /// see why a listing is slow, and for the tests that keep each order on its index.
    pub async fn listing_plan(&self, query: &ProductQuery) -> super::StoreResult<Vec<String>> {
        let backend = self.db.backend();
        let (sql, binds) = query.page_sql(backend, false);
        Ok(match backend {
            Backend::Postgres => assembled(format!("EXPLAIN {sql}"))
                .bind_all(binds)
                .fetch_all::<(String,)>(&self.db)
                .await?
                .into_iter()
                .map(|(line,)| line)
                .collect(),
            Backend::Sqlite => assembled(format!("EXPLAIN QUERY PLAN {sql}"))
                .bind_all(binds)
                .fetch_all::<(i64, i64, i64, String)>(&self.db)
                .await?
                .into_iter()
                .map(|(.., detail)| detail)
                .collect(),
        })
    }
}

/// The menu's categories, in the menu's order, as a JSON array of `CategoryRow`s (SQLite). They are read in
/// order from a subquery so that the index on that order serves them (see `ProductQuery::total`).
const MENU_JSON: &str = r#"(SELECT COALESCE(json_group_array(json_object('id', c."id", 'name', c."name",
        'slug', c."slug", 'description', c."description", 'image', c."image", 'productCount', c."productCount")
        ORDER BY c."name", c."id"), '[]')
    FROM (SELECT * FROM "Category" ORDER BY "name", "id") c)"#;

/// From this many products skipped, a page chooses its products by their keys first (see `page_sql`).
const DEFERRED_FROM_OFFSET: u64 = 100;

/// The columns of a `ProductRow`, as the keys of a listing's JSON objects (SQLite).
const PRODUCT_JSON_KEYS: [&str; 16] = [
    "id",
    "name",
    "slug",
    "description",
    "priceCents",
    "comparePriceCents",
    "images",
    "stock",
    "featured",
    "createdAt",
    "updatedAt",
    "categoryId",
    "categoryName",
    "categorySlug",
    "ratingCount",
    "ratingSum",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_are_numbered_in_order() {
        let q = ProductQuery {
            category: Some(Slug::parse("category", "salon").unwrap()),
            search: vec![QueryWord::new("lampes"), QueryWord::new("lin")],
            min_price: Some(Money::from_cents(100)),
            featured: Some(true),
            in_stock: Some(true),
            ..ProductQuery::default()
        };
        let (sql, binds) = q.page_sql(Backend::Postgres, false);
        assert!(sql.contains(r#"WHERE "slug" = $1)"#));
        assert!(sql.contains(r#"to_tsquery('simple'::regconfig, $2)"#));
        assert!(sql.contains(r#""priceCents" >= $3"#));
        assert!(sql.contains(r#""featured" = $4"#));
        assert!(sql.contains("LIMIT 12 OFFSET 0"));
        assert_eq!(
            binds[1],
            Arg::Text(Some("(lamp | lampes:*) & (lin | lin:*)".into()))
        );
        assert_eq!(binds.len(), 4);

        let (sql, binds) = q.page_sql(Backend::Sqlite, false);
        assert!(sql.contains(r#""ProductSearch" MATCH $2"#));
        assert_eq!(
            binds[1],
            Arg::Text(Some(
                r#"("lamp" OR "lampes"*) AND ("lin" OR "lin"*)"#.into()
            ))
        );
    }

    #[test]
    fn relevance_counts_the_words_the_name_holds_with_their_own_binds() {
        let q = ProductQuery {
            search: vec![QueryWord::new("lampes"), QueryWord::new("50%")],
            sort: ProductSort::Relevance,
            ..ProductQuery::default()
        };
        let (sql, binds) = q.page_sql(Backend::Sqlite, false);
        assert!(sql.contains(r#"LIKE $2 ESCAPE"#), "{sql}");
        assert!(sql.contains(r#"LIKE $9 ESCAPE"#), "{sql}");
        assert!(sql.contains("LIMIT 12 OFFSET 0"), "{sql}");
        assert_eq!(binds[1], Arg::Text(Some("% lamp %".into())));
        assert_eq!(binds[2], Arg::Text(Some("% lampes%".into())));
        assert_eq!(binds[3], Arg::Text(Some("lamp %".into())));
        assert_eq!(binds[4], Arg::Text(Some("lampes%".into())));
        assert_eq!(binds[6], Arg::Text(Some(r"% 50\%%".into())));
    }
}
