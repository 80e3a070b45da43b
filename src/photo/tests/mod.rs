mod alloc_probe;
mod budget;
mod fixtures;
mod hostile;
mod intake;
mod prechecks;

#[test]
fn a_photo_on_file_is_prepared_once_into_the_stored_form() {
    let good = crate::registry::portrait::jpeg(330, 480);
    let p = super::prepare(&good);
    assert!(p.failed_checks.is_empty(), "{:?}", p.failed_checks);
    assert_eq!(p.sha256, super::digest(&p.jpeg));
    let img = image::load_from_memory(&p.jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (330, 480));
    let junk = super::prepare(b"not a photo");
    assert_eq!(junk.failed_checks, ["unreadable"]);
    assert!(junk.sha256.is_empty() && junk.jpeg.is_empty());
    assert_eq!(super::check_code("too_dark"), "too_dark");
    assert_eq!(super::check_code("who knows"), "unreadable");
}
