//! Rendered images by code, so the same display code is never rendered twice (choosing a
//! QR mask alone costs milliseconds, a card tens). Bounded: the oldest entries go first, and
//! a code lives only minutes anyway.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The display code alone, keyed by the QR text or the barcode digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeImage {
    QrPng,
    QrSvg,
    BarcodePng,
    BarcodeSvg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    Code(CodeImage),
    /// The front card, keyed by the QR text of the code it shows.
    CardFront,
    /// The secondary card, keyed by a digest of what it shows.
    CardSecondary,
}

type Key = (ImageKind, String);

/// The images by key, the keys in the order they were added (oldest first), and their bytes.
#[derive(Default)]
struct Entries {
    map: HashMap<Key, Arc<Vec<u8>>>,
    order: VecDeque<Key>,
    bytes: usize,
}

pub struct RenderCache {
    capacity: usize,
    max_bytes: usize,
    entries: Mutex<Entries>,
}

impl RenderCache {
    /// At most `capacity` images, of any size.
    pub fn new(capacity: usize) -> Self {
        RenderCache {
            capacity: capacity.max(1),
            max_bytes: usize::MAX,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Also at most `max_bytes` of images in all: a card weighs a hundred QR codes.
    pub fn with_max_bytes(self, max_bytes: usize) -> Self {
        RenderCache { max_bytes, ..self }
    }

    /// The cached image, if there is one.
    pub fn get(&self, kind: ImageKind, text: &str) -> Option<Arc<Vec<u8>>> {
        self.lock().map.get(&(kind, text.to_owned())).cloned()
    }

    /// The cached image, or `render` it and keep it. Rendering runs outside the lock.
    pub fn get_or_render<E>(
        &self,
        kind: ImageKind,
        text: &str,
        render: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Arc<Vec<u8>>, E> {
        if let Some(hit) = self.get(kind, text) {
            return Ok(hit);
        }
        let key = (kind, text.to_owned());
        let image = Arc::new(render()?);
        let mut guard = self.lock();
        let e = &mut *guard;
        if e.map.insert(key.clone(), image.clone()).is_none() {
            e.order.push_back(key);
            e.bytes += image.len();
            while e.order.len() > self.capacity || e.bytes > self.max_bytes {
                let Some(old) = e.order.pop_front() else {
                    break;
                };
                if let Some(gone) = e.map.remove(&old) {
                    e.bytes -= gone.len();
                }
            }
        }
        Ok(image)
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
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
                .get_or_render::<()>(ImageKind::Code(CodeImage::QrPng), "a", || {
                    renders += 1;
                    Ok(vec![1])
                })
                .unwrap();
        }
        assert_eq!(renders, 1);
        cache
            .get_or_render::<()>(ImageKind::Code(CodeImage::QrSvg), "a", || Ok(vec![2]))
            .unwrap();
        cache
            .get_or_render::<()>(ImageKind::Code(CodeImage::QrPng), "b", || Ok(vec![3]))
            .unwrap();
        assert_eq!(cache.len(), 2, "the oldest entry was evicted");
        let again = cache
            .get_or_render::<()>(ImageKind::Code(CodeImage::QrPng), "a", || Ok(vec![9]))
            .unwrap();
        assert_eq!(*again, vec![9], "evicted, so rendered anew");
        assert!(cache
            .get_or_render(ImageKind::Code(CodeImage::BarcodePng), "x", || Err("boom"))
            .is_err());
    }

    #[test]
    fn kinds_do_not_share_keys_and_bytes_are_bounded_too() {
        let cache = RenderCache::new(100).with_max_bytes(10);
        let card = |n| Ok::<_, ()>(vec![0; n]);
        cache
            .get_or_render(ImageKind::CardFront, "a", || card(4))
            .unwrap();
        assert!(cache.get(ImageKind::CardSecondary, "a").is_none());
        cache
            .get_or_render(ImageKind::CardSecondary, "a", || card(4))
            .unwrap();
        assert_eq!(cache.len(), 2);
        cache
            .get_or_render(ImageKind::CardFront, "b", || card(4))
            .unwrap();
        assert_eq!(cache.len(), 2, "12 bytes > 10: the oldest went");
        assert!(cache.get(ImageKind::CardFront, "a").is_none());
        let big = cache
            .get_or_render(ImageKind::CardFront, "c", || card(11))
            .unwrap();
        assert_eq!(
            (big.len(), cache.len()),
            (11, 0),
            "too big to keep, still returned"
        );
    }
}
