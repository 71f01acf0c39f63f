//! What the sitemap lists: the shop's fixed pages, its categories and its live products, split into files that
//! each stay far below the protocol's limit of 50,000 addresses (the way large shops split theirs).

use chrono::NaiveDateTime;

use crate::AppState;
use crate::services::catalog::{CatalogError, list_products};
use crate::store::{Location, ProductQuery};

/// Products per sitemap file: small enough to answer quickly, far below the protocol's 50,000.
pub const PRODUCTS_PER_FILE: u32 = 5_000;

/// Pages that are always there and worth a crawler's visit, as paths.
const FIXED_PAGES: [&str; 4] = ["/", "/produits", "/nouveautes", "/promotions"];

/// One file of the sitemap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SitemapFile {
    Pages,
    Categories,
    /// The n-th slice of the products by slug, from 1.
    Products(u32),
}

impl SitemapFile {
    /// The file's name under `/sitemaps/`.
    pub fn name(self) -> String {
        match self {
            SitemapFile::Pages => "pages.xml".into(),
            SitemapFile::Categories => "categories.xml".into(),
            SitemapFile::Products(n) => format!("products-{n}.xml"),
        }
    }

    /// The file a name under `/sitemaps/` names; `None` for anything else (`products-0.xml`, `products-01.xml`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "pages.xml" => Some(SitemapFile::Pages),
            "categories.xml" => Some(SitemapFile::Categories),
            _ => {
                let n = name.strip_prefix("products-")?.strip_suffix(".xml")?;
                let parsed: u32 = n.parse().ok().filter(|&n| n >= 1)?;
                (parsed.to_string() == n).then_some(SitemapFile::Products(parsed))
            }
        }
    }
}

/// An address in a sitemap file: a path on the shop, and when its content last changed where that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub last_modified: Option<NaiveDateTime>,
}

/// The files of the sitemap: the fixed pages, the categories, and as many product files as the live products
/// fill (none when there is no product).
pub async fn files(state: &AppState) -> Result<Vec<SitemapFile>, CatalogError> {
    let count = ProductQuery {
        limit: 1,
        ..ProductQuery::default()
    };
    let total = u64::try_from(list_products(state, &count).await?.total).unwrap_or(0);
    Ok(plan(total))
}

fn plan(products: u64) -> Vec<SitemapFile> {
    let product_files =
        u32::try_from(products.div_ceil(u64::from(PRODUCTS_PER_FILE))).unwrap_or(u32::MAX);
    [SitemapFile::Pages, SitemapFile::Categories]
        .into_iter()
        .chain((1..=product_files).map(SitemapFile::Products))
        .collect()
}

/// The addresses one file lists; `None` for a product file past the last product.
pub async fn entries(
    state: &AppState,
    file: SitemapFile,
) -> Result<Option<Vec<Entry>>, CatalogError> {
    let store = state.store();
    let located = |prefix: &str, locations: Vec<Location>| -> Vec<Entry> {
        locations
            .into_iter()
            .map(|l| Entry {
                path: format!("{prefix}{}", l.slug),
                last_modified: Some(l.updated_at),
            })
            .collect()
    };
    Ok(match file {
        SitemapFile::Pages => Some(
            FIXED_PAGES
                .iter()
                .map(|path| Entry {
                    path: (*path).to_string(),
                    last_modified: None,
                })
                .collect(),
        ),
        SitemapFile::Categories => Some(located("/categories/", store.category_locations().await?)),
        SitemapFile::Products(n) => {
            let offset = u64::from(n - 1) * u64::from(PRODUCTS_PER_FILE);
            let products = store.product_locations(PRODUCTS_PER_FILE, offset).await?;
            (n == 1 || !products.is_empty()).then(|| located("/produits/", products))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_files_follow_the_count() {
        assert_eq!(plan(0), [SitemapFile::Pages, SitemapFile::Categories]);
        assert_eq!(plan(1).last(), Some(&SitemapFile::Products(1)));
        assert_eq!(plan(5_000).last(), Some(&SitemapFile::Products(1)));
        assert_eq!(plan(5_001).last(), Some(&SitemapFile::Products(2)));
        assert_eq!(plan(12_000).len(), 2 + 3);
    }

    #[test]
    fn names_go_both_ways_and_nothing_else_parses() {
        for file in [
            SitemapFile::Pages,
            SitemapFile::Categories,
            SitemapFile::Products(1),
            SitemapFile::Products(12),
        ] {
            assert_eq!(SitemapFile::parse(&file.name()), Some(file));
        }
        for name in [
            "products-0.xml",
            "products-01.xml",
            "products-.xml",
            "products-1",
            "products-+1.xml",
            "products-99999999999.xml",
            "../pages.xml",
            "PAGES.xml",
        ] {
            assert_eq!(SitemapFile::parse(name), None, "{name}");
        }
    }
}
