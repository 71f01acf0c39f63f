//! The catalogue listing query: validated filters, and the SQL they turn into. The SQL is assembled only from
//! the fixed fragments below; every value travels as a bind parameter.

use super::db::{Arg, Sql, assembled};
use crate::domain::{Money, Slug};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProductSort {
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
    Popular,
    Rating,
}

impl ProductSort {
    pub const ALL: [ProductSort; 5] = [
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
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            ProductSort::Newest => "Plus récents",
            ProductSort::PriceAsc => "Prix croissant",
            ProductSort::PriceDesc => "Prix décroissant",
            ProductSort::Popular => "Populaires",
            ProductSort::Rating => "Mieux notés",
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            ProductSort::Newest => r#"p."createdAt" DESC, p."id" DESC"#,
            ProductSort::PriceAsc => r#"p."priceCents" ASC, p."id" ASC"#,
            ProductSort::PriceDesc => r#"p."priceCents" DESC, p."id" ASC"#,
            ProductSort::Popular => r#"p."ratingCount" DESC, p."createdAt" DESC, p."id" DESC"#,
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
    /// Words of the search text, already folded (lower case, no accents).
    pub search_words: Vec<String>,
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
            search_words: Vec::new(),
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

pub(super) const PRODUCT_COLUMNS: &str = r#"SELECT p."id", p."name", p."slug", p."description", p."priceCents",
    p."comparePriceCents", p."images", p."stock", p."featured", p."createdAt", p."updatedAt",
    c."id" AS "categoryId", c."name" AS "categoryName", c."slug" AS "categorySlug",
    p."ratingCount", p."ratingSum"
FROM "Product" p
LEFT JOIN "Category" c ON c."id" = p."categoryId"
"#;

fn like_pattern(word: &str) -> String {
    let mut escaped = String::with_capacity(word.len() + 2);
    escaped.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

impl ProductQuery {
    /// The WHERE clause and its binds, numbered from `$1`.
    fn filter(&self) -> (String, Vec<Arg>) {
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
        for word in &self.search_words {
            push(
                &mut sql,
                r#" AND p."searchText" LIKE $? ESCAPE '\'"#,
                Arg::from(like_pattern(word)),
            );
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

    /// One page of the listing.
    pub(super) fn page(&self) -> Sql {
        let (sql, binds) = self.page_sql();
        assembled(sql).bind_all(binds)
    }

    /// How many products the listing has in all.
    pub(super) fn count(&self) -> Sql {
        let (filter, binds) = self.filter();
        assembled(format!(r#"SELECT COUNT(*) FROM "Product" p {filter}"#)).bind_all(binds)
    }

    fn page_sql(&self) -> (String, Vec<Arg>) {
        let (filter, mut binds) = self.filter();
        let n = binds.len();
        let sql = format!(
            "{PRODUCT_COLUMNS}{filter}\nORDER BY {}\nLIMIT ${} OFFSET ${}",
            self.sort.order_by(),
            n + 1,
            n + 2
        );
        binds.push(Arg::from(i64::from(self.limit)));
        binds.push(Arg::from(
            i64::from(self.page.saturating_sub(1)) * i64::from(self.limit),
        ));
        (sql, binds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_are_numbered_in_order() {
        let q = ProductQuery {
            category: Some(Slug::parse("category", "salon").unwrap()),
            search_words: vec!["50%_off".into()],
            min_price: Some(Money::from_cents(100)),
            featured: Some(true),
            in_stock: Some(true),
            ..ProductQuery::default()
        };
        let (sql, binds) = q.page_sql();
        assert!(sql.contains(r#"WHERE "slug" = $1)"#));
        assert!(sql.contains(r#"LIKE $2 ESCAPE"#));
        assert!(sql.contains(r#""priceCents" >= $3"#));
        assert!(sql.contains(r#""featured" = $4"#));
        assert!(sql.contains("LIMIT $5 OFFSET $6"));
        assert_eq!(binds[1], Arg::Text(Some(r"%50\%\_off%".into())));
        assert_eq!(binds.len(), 6);
    }
}
