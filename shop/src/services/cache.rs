//! A short-lived in-process cache of public catalogue reads (product listings, product details, categories).
//!
//! Every visitor sees the same catalogue, and a listing costs a page query plus a count; under load most requests
//! ask the same few questions within the same second. Entries live for `ShopConfig::catalog_cache_ttl`
//! (a few seconds; zero turns the cache off). Admin writes through this process invalidate everything at once;
//! other replicas catch up within the TTL. Concurrent misses on one key share a single database query, so an
//! expiring entry does not send a burst of identical queries to the database. The number of entries is bounded:
//! search terms come from visitors.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One keyed cache with a time-to-live, a capacity, and loads shared between concurrent callers. When full it
/// keeps the keys asked for most (moka's TinyLFU admission): a flood of one-off searches cannot push the popular
/// listings out, nor empty the cache.
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: moka::future::Cache<(K, u64), Arc<V>>,
}

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        TtlCache {
            ttl,
            entries: moka::future::Cache::builder()
                .max_capacity(capacity.max(1))
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
        }
    }

    /// The cached value for `key` in this `generation`, or the result of `load` (then cached). Errors are not
    /// cached.
    pub async fn get_or_load<E, F, Fut>(
        &self,
        key: &K,
        generation: u64,
        load: F,
    ) -> Result<Arc<V>, E>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if self.ttl.is_zero() {
            return load().await.map(Arc::new);
        }
        let mut failure = None;
        let shared = self
            .entries
            .try_get_with((key.clone(), generation), async {
                load().await.map(Arc::new).map_err(|err| {
                    failure = Some(err);
                })
            })
            .await;
        match (shared, failure) {
            (Ok(value), _) => Ok(value),
            (Err(_), Some(err)) => Err(err),
            // Another caller's load failed while this one waited on it: this one tries for itself.
            (Err(_), None) => load().await.map(Arc::new),
        }
    }

    /// Entries held now (after pending evictions are applied).
    pub async fn entry_count(&self) -> u64 {
        self.entries.run_pending_tasks().await;
        self.entries.entry_count()
    }
}

/// The catalogue's caches and the generation that admin writes bump.
pub struct CatalogCache {
    generation: AtomicU64,
    pub(crate) listings: TtlCache<crate::store::ProductQuery, crate::store::ProductPage>,
    pub(crate) details: TtlCache<String, super::catalog::ProductDetail>,
    pub(crate) categories: TtlCache<(), Vec<crate::store::Category>>,
    /// The search vocabulary by first letter, for correcting typos.
    pub(crate) vocabulary: TtlCache<String, Vec<String>>,
}

impl CatalogCache {
    pub fn new(ttl: Duration) -> Self {
        CatalogCache {
            generation: AtomicU64::new(0),
            listings: TtlCache::new(ttl, 2048),
            details: TtlCache::new(ttl, 2048),
            categories: TtlCache::new(ttl, 1),
            vocabulary: TtlCache::new(ttl, 64),
        }
    }

    /// Whether nothing is kept (a time-to-live of zero).
    pub fn is_off(&self) -> bool {
        self.listings.ttl.is_zero()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Forget everything: the catalogue changed.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn serves_from_cache_until_expiry_or_invalidation() {
        let cache: TtlCache<u32, u32> = TtlCache::new(Duration::from_millis(200), 8);
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(7)
        };
        assert_eq!(*cache.get_or_load(&1, 0, load).await.unwrap(), 7);
        assert_eq!(*cache.get_or_load(&1, 0, load).await.unwrap(), 7);
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "second read from the cache"
        );
        cache.get_or_load(&1, 1, load).await.unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 2, "a new generation reloads");
        tokio::time::sleep(Duration::from_millis(250)).await;
        cache.get_or_load(&1, 1, load).await.unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 3, "expired entries reload");
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_load_and_errors_are_not_kept() {
        let cache: Arc<TtlCache<u32, u32>> = Arc::new(TtlCache::new(Duration::from_secs(60), 8));
        let loads = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let cache = cache.clone();
                let loads = loads.clone();
                tokio::spawn(async move {
                    cache
                        .get_or_load(&1, 0, || async {
                            loads.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok::<_, ()>(1)
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(*task.await.unwrap().unwrap(), 1);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);

        assert!(
            cache
                .get_or_load(&2, 0, || async { Err::<u32, _>("down") })
                .await
                .is_err()
        );
        assert_eq!(
            *cache
                .get_or_load(&2, 0, || async { Ok::<_, &str>(2) })
                .await
                .unwrap(),
            2
        );
    }

    #[tokio::test]
    async fn popular_keys_survive_a_flood_of_one_off_keys_and_it_can_be_turned_off() {
        let cache: TtlCache<u32, u32> = TtlCache::new(Duration::from_secs(60), 16);
        let loads = AtomicUsize::new(0);
        let load = |key: u32| {
            let loads = &loads;
            move || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(key)
            }
        };
        // Key 1 is the popular listing: asked once for every five one-off searches, 10,000 of them.
        let popular_loads = AtomicUsize::new(0);
        for key in 1_000..11_000 {
            cache.get_or_load(&key, 0, load(key)).await.unwrap();
            if key % 5 == 0 {
                cache
                    .get_or_load(&1, 0, || async {
                        popular_loads.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, ()>(1)
                    })
                    .await
                    .unwrap();
            }
        }
        assert!(
            cache.entry_count().await <= 16,
            "bounded: {}",
            cache.entry_count().await
        );
        // A cache that empties itself when full (the one this replaced) reloaded it hundreds of times.
        let reloaded = popular_loads.load(Ordering::SeqCst);
        assert!(reloaded <= 3, "the popular key was loaded {reloaded} times");
        assert!(loads.load(Ordering::SeqCst) >= 10_000);

        let off: TtlCache<u32, u32> = TtlCache::new(Duration::ZERO, 4);
        off.get_or_load(&1, 0, || async { Ok::<_, ()>(1) })
            .await
            .unwrap();
        assert_eq!(off.entry_count().await, 0);
    }
}
