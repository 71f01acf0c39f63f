//! A short-lived in-process cache of public catalogue reads (product listings, product details, categories).
//!
//! Every visitor sees the same catalogue, and a listing costs a page query plus a count; under load most requests
//! ask the same few questions within the same second. Entries live for `ShopConfig::catalog_cache_ttl`
//! (a few seconds; zero turns the cache off). Admin writes through this process invalidate everything at once;
//! other replicas catch up within the TTL. Concurrent misses on one key share a single database query, so an
//! expiring entry does not send a burst of identical queries to the database. The number of entries is bounded:
//! search terms come from visitors.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

struct Slot<V> {
    born: Instant,
    generation: u64,
    value: Arc<OnceCell<Arc<V>>>,
}

/// One keyed cache with a time-to-live, a capacity, and loads shared between concurrent callers.
pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    slots: Mutex<HashMap<K, Slot<V>>>,
}

impl<K: Hash + Eq + Clone, V> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TtlCache {
            ttl,
            capacity: capacity.max(1),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value for `key`, or the result of `load` (then cached). Errors are not cached.
    pub async fn get_or_load<E, F, Fut>(
        &self,
        key: &K,
        generation: u64,
        load: F,
    ) -> Result<Arc<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if self.ttl.is_zero() {
            return load().await.map(Arc::new);
        }
        let cell = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            let fresh =
                |slot: &Slot<V>| slot.generation == generation && slot.born.elapsed() < self.ttl;
            match slots.get(key) {
                Some(slot) if fresh(slot) => slot.value.clone(),
                _ => {
                    if slots.len() >= self.capacity {
                        slots.retain(|_, slot| fresh(slot));
                        if slots.len() >= self.capacity {
                            slots.clear();
                        }
                    }
                    let value = Arc::new(OnceCell::new());
                    slots.insert(
                        key.clone(),
                        Slot {
                            born: Instant::now(),
                            generation,
                            value: value.clone(),
                        },
                    );
                    value
                }
            }
        };
        cell.get_or_try_init(|| async { load().await.map(Arc::new) })
            .await
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The catalogue's caches and the generation that admin writes bump.
pub struct CatalogCache {
    generation: AtomicU64,
    pub(crate) listings: TtlCache<crate::store::ProductQuery, crate::store::ProductPage>,
    pub(crate) details: TtlCache<String, super::catalog::ProductDetail>,
    pub(crate) categories: TtlCache<(), Vec<crate::store::Category>>,
}

impl CatalogCache {
    pub fn new(ttl: Duration) -> Self {
        CatalogCache {
            generation: AtomicU64::new(0),
            listings: TtlCache::new(ttl, 512),
            details: TtlCache::new(ttl, 1024),
            categories: TtlCache::new(ttl, 1),
        }
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
    async fn stays_within_capacity_and_can_be_turned_off() {
        let cache: TtlCache<u32, u32> = TtlCache::new(Duration::from_secs(60), 4);
        for key in 0..100 {
            cache
                .get_or_load(&key, 0, || async { Ok::<_, ()>(key) })
                .await
                .unwrap();
            assert!(cache.len() <= 4);
        }
        let off: TtlCache<u32, u32> = TtlCache::new(Duration::ZERO, 4);
        off.get_or_load(&1, 0, || async { Ok::<_, ()>(1) })
            .await
            .unwrap();
        assert!(off.is_empty());
    }
}
