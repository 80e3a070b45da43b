//! Each pre-check passing on good photos and failing on the mistake it is meant to catch.
//! The inputs are the synthetic portrait made realistic (sensor noise, JPEG, skin tones,
//! warm light) and then spoiled one way at a time.

use super::fixtures::*;
use crate::photo::*;
use crate::registry::portrait;
use image::{DynamicImage, RgbImage};

const WHITE: [u8; 3] = [252, 252, 252];
const SKIN: [u8; 3] = [226, 186, 160];

/// The codes of the failed checks.
fn failed(img: &RgbImage) -> Vec<&'static str> {
    let results = precheck(img);
    assert_eq!(
        results.iter().map(|r| r.code).collect::<Vec<_>>(),
        Check::ALL.map(Check::code)
    );
    results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.code)
        .collect()
}

fn measured(img: &RgbImage, check: Check) -> f32 {
    precheck(img)
        .iter()
        .find(|r| r.code == check.code())
        .unwrap()
        .measured
}

/// What a phone makes of a portrait: sensor noise, then JPEG at quality 85, decoded again.
fn phone(img: &RgbImage) -> RgbImage {
    let bytes = jpeg(&noisy(img, 10, 7), 85);
    decode(&bytes, &IntakeLimits::default()).unwrap().image
}

fn portrait() -> RgbImage {
    portrait::draw(330, 480)
}

fn recolour(img: &RgbImage, from: [u8; 3], to: [u8; 3]) -> RgbImage {
    map(img, |_, _, c| if c == from { to } else { c })
}

fn scaled(c: [u8; 3], k: f32) -> [u8; 3] {
    c.map(|v| (f32::from(v) * k).round() as u8)
}

#[test]
fn good_photos_pass_everything_with_room_to_spare() {
    let synthetic = portrait();
    assert!(failed(&synthetic).is_empty());
    assert!(failed(&phone(&synthetic)).is_empty());
    assert!(failed(&phone(&portrait::draw(900, 1310))).is_empty());
    // Darker skin tones pass the same checks: nothing measures the face's brightness alone.
    for skin in [[141, 85, 36], [92, 58, 40]] {
        let img = phone(&recolour(&synthetic, SKIN, skin));
        assert!(
            failed(&img).is_empty(),
            "skin {skin:?}: {:?}",
            precheck(&img)
        );
    }
    // A white wall in warm indoor light is white enough.
    assert!(failed(&phone(&recolour(&synthetic, WHITE, [235, 222, 200]))).is_empty());
    // A gentle light from the left (right side 10 % darker) is even enough.
    let gentle = map(&synthetic, |x, _, c| {
        scaled(c, 1.0 - 0.1 * x as f32 / 330.0)
    });
    assert!(failed(&gentle).is_empty(), "{:?}", precheck(&gentle));
    // Margins on the synthetic portrait, which the intake tests rely on.
    assert!(measured(&synthetic, Check::TooDark) > 150.0);
    assert!(measured(&synthetic, Check::NotColour) > 40.0);
    assert!(measured(&synthetic, Check::BackgroundNotWhite) > 0.99);
}

#[test]
fn too_small_and_wrong_proportions() {
    // 100×100: far too small, and square.
    assert_eq!(
        failed(&portrait::draw(100, 100)),
        ["too_small", "wrong_proportions"]
    );
    // 400×300 landscape: its 22:32 crop is 206 px wide, and it is 94 % off.
    let landscape = portrait::draw(400, 300);
    assert_eq!(measured(&landscape, Check::TooSmall), 206.0);
    assert!((measured(&landscape, Check::WrongProportions) - 0.9394).abs() < 1e-3);
    assert!(failed(&landscape).starts_with(&["too_small", "wrong_proportions"]));
    // Just big enough, and just small enough.
    assert!(failed(&portrait::draw(264, 384)).is_empty());
    assert_eq!(failed(&portrait::draw(263, 383)), ["too_small"]);
    // A phone's 3:4 portrait is 9.1 % off and passes; 9:16 (18 %) does not.
    let three_four = portrait::draw(600, 800);
    assert!((measured(&three_four, Check::WrongProportions) - 0.0909).abs() < 1e-3);
    assert!(failed(&three_four).is_empty());
    assert_eq!(failed(&portrait::draw(450, 800)), ["wrong_proportions"]);
}

#[test]
fn background_not_white() {
    for bad in [
        [170, 170, 170],
        [67, 142, 219],
        [200, 30, 30],
        [190, 210, 240],
    ] {
        let img = phone(&recolour(&portrait(), WHITE, bad));
        assert!(failed(&img).contains(&"background_not_white"), "{bad:?}");
    }
    // Grey alone fails nothing else: the checks tell the holder what is wrong, one by one.
    assert_eq!(
        failed(&recolour(&portrait(), WHITE, [170, 170, 170])),
        ["background_not_white"]
    );
}

#[test]
fn too_dark() {
    let dim = map(&portrait(), |_, _, c| scaled(c, 0.35));
    assert!(failed(&phone(&dim)).contains(&"too_dark"));
    assert!(measured(&dim, Check::TooDark) < 80.0);
}

#[test]
fn uneven_lighting() {
    // The right half in shadow (40 % darker): the face's halves and the background's differ.
    let shaded = map(
        &portrait(),
        |x, _, c| if x >= 165 { scaled(c, 0.6) } else { c },
    );
    assert!(failed(&phone(&shaded)).contains(&"uneven_lighting"));
    // A shadow on the background alone is caught too.
    let wall = map(&portrait(), |x, _, c| {
        if x >= 280 && c == WHITE {
            scaled(c, 0.7)
        } else {
            c
        }
    });
    assert!(
        failed(&wall).contains(&"uneven_lighting"),
        "{:?}",
        precheck(&wall)
    );
}

#[test]
fn not_colour() {
    let grey = DynamicImage::ImageRgb8(portrait()).grayscale().to_rgb8();
    assert_eq!(failed(&phone(&grey)), ["not_colour"]);
    // A greyscale JPEG (one component) decodes to grey RGB and fails the same way.
    let luma = DynamicImage::ImageRgb8(portrait()).into_luma8();
    let out = normalise(
        &encode(&DynamicImage::ImageLuma8(luma), image::ImageFormat::Jpeg),
        &Default::default(),
    )
    .unwrap();
    let codes: Vec<_> = out
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.code)
        .collect();
    assert_eq!(codes, ["not_colour"]);
}

#[test]
fn checks_have_stable_codes_directions_and_serialise() {
    let codes = Check::ALL.map(Check::code);
    let expected = [
        "too_small",
        "wrong_proportions",
        "background_not_white",
        "too_dark",
        "uneven_lighting",
        "not_colour",
    ];
    assert_eq!(codes, expected);
    for check in Check::ALL {
        let t = check.threshold();
        assert!(check.passes(t), "the threshold itself passes");
        let at_least = matches!(
            check,
            Check::TooSmall | Check::BackgroundNotWhite | Check::TooDark | Check::NotColour
        );
        assert_eq!(check.passes(t * 1.5), at_least);
        assert_eq!(check.passes(t * 0.5), !at_least);
    }
    let result = precheck(&portrait())[0];
    assert_eq!(
        serde_json::to_value(result).unwrap(),
        serde_json::json!({"code": "too_small", "passed": true, "measured": 330.0, "threshold": 264.0})
    );
}

#[test]
fn a_photo_on_file_gets_the_same_findings_as_its_upload() {
    let img = portrait::draw(500, 700);
    let out = normalise(&portrait::png(500, 700), &IntakeLimits::default()).unwrap();
    assert_eq!(out.checks, precheck(&img));
}
