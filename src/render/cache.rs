//! Rendered images by code, so the same display code is never rendered twice (choosing a
//! QR mask alone costs milliseconds). Bounded: the oldest entries go first, and a code
//! lives only minutes anyway.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    QrPng,
    QrSvg,
    BarcodePng,
    BarcodeSvg,
}

type Key = (ImageKind, String);
/// The images by key, and the keys in the order they were added (oldest first).
type Entries = (HashMap<Key, Arc<Vec<u8>>>, VecDeque<Key>);

pub struct RenderCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl RenderCache {
    pub fn new(capacity: usize) -> Self {
        RenderCache {
            capacity: capacity.max(1),
            entries: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// The cached image, or `render` it and keep it. Rendering runs outside the lock.
    pub fn get_or_render<E>(
        &self,
        kind: ImageKind,
        text: &str,
        render: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Arc<Vec<u8>>, E> {
        let key = (kind, text.to_owned());
        if let Some(hit) = self.lock().0.get(&key) {
            return Ok(hit.clone());
        }
        let image = Arc::new(render()?);
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        if map.insert(key.clone(), image.clone()).is_none() {
            order.push_back(key);
            while order.len() > self.capacity {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
        Ok(image)
    }

    pub fn len(&self) -> usize {
        self.lock().0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_once_per_code_and_stays_bounded() {
        let cache = RenderCache::new(2);
        let mut renders = 0;
        for _ in 0..3 {
            cache
                .get_or_render::<()>(ImageKind::QrPng, "a", || {
                    renders += 1;
                    Ok(vec![1])
                })
                .unwrap();
        }
        assert_eq!(renders, 1);
        cache
            .get_or_render::<()>(ImageKind::QrSvg, "a", || Ok(vec![2]))
            .unwrap();
        cache
            .get_or_render::<()>(ImageKind::QrPng, "b", || Ok(vec![3]))
            .unwrap();
        assert_eq!(cache.len(), 2, "the oldest entry was evicted");
        let again = cache
            .get_or_render::<()>(ImageKind::QrPng, "a", || Ok(vec![9]))
            .unwrap();
        assert_eq!(*again, vec![9], "evicted, so rendered anew");
        assert!(cache
            .get_or_render(ImageKind::BarcodePng, "x", || Err("boom"))
            .is_err());
    }
}
