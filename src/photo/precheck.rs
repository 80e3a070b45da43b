//! Automatic pre-checks of an ID photo: what a machine can tell before a reviewer looks.
//!
//! Each check measures one number and compares it with a threshold; the holder sees the codes
//! of the failed ones. They are advice, tuned to pass a correct ID photo with room to spare and
//! to catch the common mistakes (a selfie, a grey wall, a dim room, a window on one side, a
//! black-and-white scan), not to replace the reviewer. Regions are fractions of the 22:32
//! frame, placed for the standard framing (head 19–22 mm of 32 mm, 14–16 mm of 22 mm wide,
//! centred): the top 4 % and the outer 8 % of each side above mid-height are background, the
//! centre is the face.

use super::{fit, NORMALISED_HEIGHT, NORMALISED_WIDTH};
use image::RgbImage;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The 22:32 crop of the source is narrower than 264 px (measured: its width in px), so
    /// it would be enlarged more than 1.25× to 330×480 and look soft.
    TooSmall,
    /// The source's width/height is more than 10 % off 22:32 (measured: the relative
    /// difference, before the crop). A phone's 3:4 portrait is 9.1 % off and passes; a 9:16
    /// selfie (18 %) or a landscape photo fails, because cropping it would cut off the head
    /// or shoulders the reviewer needs.
    WrongProportions,
    /// Less than 85 % of the background strips is white-ish (measured: that fraction), where
    /// white-ish is luma ≥ 190 and chroma ≤ 40. A white wall in warm indoor light
    /// (235, 222, 200) with phone noise measures 0.91 and passes; light grey (170), blue
    /// (蓝底), red (红底) and pale blue backgrounds measure 0 and fail.
    BackgroundNotWhite,
    /// Mean luma of the whole photo below 80 (measured: the mean, 0–255). The white
    /// background is a third or more of a correctly framed photo, so even dark hair, dark
    /// clothing and dark skin keep the mean above about 110; one and a half stops of
    /// underexposure (×0.35) brings the synthetic portrait from 195 to 68. The face alone is
    /// deliberately not measured: that would flag dark skin, not bad exposure.
    TooDark,
    /// One side is more than 25 % darker than the other (measured: 1 − darker/brighter mean
    /// luma, the worse of the face's two halves and the two background strips). Relative, so
    /// a side light is caught on dark and light skin alike. A gentle gradient (10 % across
    /// the photo) measures 0.09; a half in shadow (40 % darker) 0.40; a shadow on one side of
    /// the wall 0.30.
    UnevenLighting,
    /// Mean chroma (max − min of R, G, B) of the face below 10 (measured: that mean). The
    /// face region of a colour portrait measures 48–97 across skin tones (hair and eyes
    /// included); a greyscale photo 0, or about 4 with a phone's colour noise and JPEG.
    NotColour,
}

use Check::*;

impl Check {
    pub const ALL: [Check; 6] = [
        TooSmall,
        WrongProportions,
        BackgroundNotWhite,
        TooDark,
        UnevenLighting,
        NotColour,
    ];

    /// Stable reason code, shown to the holder.
    pub fn code(self) -> &'static str {
        match self {
            TooSmall => "too_small",
            WrongProportions => "wrong_proportions",
            BackgroundNotWhite => "background_not_white",
            TooDark => "too_dark",
            UnevenLighting => "uneven_lighting",
            NotColour => "not_colour",
        }
    }

    pub fn threshold(self) -> f32 {
        match self {
            TooSmall => 264.0,
            WrongProportions => 0.10,
            BackgroundNotWhite => 0.85,
            TooDark => 80.0,
            UnevenLighting => 0.25,
            NotColour => 10.0,
        }
    }

    /// Whether `measured` passes: some checks need at least the threshold, some at most.
    pub fn passes(self, measured: f32) -> bool {
        match self {
            TooSmall | BackgroundNotWhite | TooDark | NotColour => measured >= self.threshold(),
            WrongProportions | UnevenLighting => measured <= self.threshold(),
        }
    }

    fn result(self, measured: f32) -> PrecheckResult {
        PrecheckResult {
            code: self.code(),
            passed: self.passes(measured),
            measured,
            threshold: self.threshold(),
        }
    }
}

/// One pre-check's finding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrecheckResult {
    pub code: &'static str,
    pub passed: bool,
    pub measured: f32,
    pub threshold: f32,
}

/// The pre-checks of a decoded photo as it is shown (orientation applied), at any size: a
/// fresh upload or a photo on file (已留存照片). Returns one result per [`Check::ALL`], in order.
pub fn precheck(source: &RgbImage) -> Vec<PrecheckResult> {
    precheck_fitted(source.dimensions(), &fit(source))
}

/// The pre-checks from the source's size and its 330×480 fit (see [`fit`]).
pub(super) fn precheck_fitted(
    (width, height): (u32, u32),
    fitted: &RgbImage,
) -> Vec<PrecheckResult> {
    let target = NORMALISED_WIDTH as f32 / NORMALISED_HEIGHT as f32;
    let crop_width = (width as f32).min(height as f32 * target);
    let aspect = width as f32 / height.max(1) as f32;
    let f = Frame(fitted);
    let (left_bg, right_bg) = (f.stats(LEFT_BACKGROUND), f.stats(RIGHT_BACKGROUND));
    let (left_face, right_face) = (f.stats(LEFT_FACE), f.stats(RIGHT_FACE));
    let background = f.stats(TOP_BACKGROUND).add(left_bg).add(right_bg);
    let face = left_face.add(right_face);
    let uneven = unevenness(left_face, right_face).max(unevenness(left_bg, right_bg));
    vec![
        TooSmall.result(crop_width.floor()),
        WrongProportions.result((aspect / target - 1.0).abs()),
        BackgroundNotWhite.result(background.white / background.pixels),
        TooDark.result(f.stats(WHOLE).mean_luma()),
        UnevenLighting.result(uneven),
        NotColour.result(face.chroma / face.pixels),
    ]
}

/// 1 − darker/brighter of two regions' mean luma: 0 when even.
fn unevenness(a: Stats, b: Stats) -> f32 {
    let (a, b) = (a.mean_luma(), b.mean_luma());
    if a.max(b) > 0.0 {
        1.0 - a.min(b) / a.max(b)
    } else {
        0.0
    }
}

/// A rectangle as fractions of the frame: (left, top, right, bottom).
type Region = (f32, f32, f32, f32);

const WHOLE: Region = (0.0, 0.0, 1.0, 1.0);
const TOP_BACKGROUND: Region = (0.0, 0.0, 1.0, 0.04);
// The sides stop at mid-height, above the shoulders and any long hair.
const LEFT_BACKGROUND: Region = (0.0, 0.04, 0.08, 0.50);
const RIGHT_BACKGROUND: Region = (0.92, 0.04, 1.0, 0.50);
// Forehead to chin of a centred face, inside the cheeks.
const LEFT_FACE: Region = (0.32, 0.32, 0.50, 0.58);
const RIGHT_FACE: Region = (0.50, 0.32, 0.68, 0.58);

struct Frame<'a>(&'a RgbImage);

/// Sums over a region (the caller divides), `white` counting the white-ish pixels.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    pixels: f32,
    luma: f32,
    chroma: f32,
    white: f32,
}

impl Stats {
    fn mean_luma(self) -> f32 {
        self.luma / self.pixels.max(1.0)
    }

    fn add(self, o: Stats) -> Stats {
        Stats {
            pixels: self.pixels + o.pixels,
            luma: self.luma + o.luma,
            chroma: self.chroma + o.chroma,
            white: self.white + o.white,
        }
    }
}

/// A pixel is white-ish (background) at luma ≥ 190 and chroma ≤ 40.
const WHITE_MIN_LUMA: f32 = 190.0;
const WHITE_MAX_CHROMA: f32 = 40.0;

impl Frame<'_> {
    fn stats(&self, (x0, y0, x1, y1): Region) -> Stats {
        let (w, h) = (self.0.width() as f32, self.0.height() as f32);
        let mut s = Stats::default();
        for y in (y0 * h) as u32..((y1 * h) as u32).min(self.0.height()) {
            for x in (x0 * w) as u32..((x1 * w) as u32).min(self.0.width()) {
                let [r, g, b] = self.0.get_pixel(x, y).0.map(f32::from);
                // Rec. 601 luma, as JPEG uses.
                let luma = 0.299 * r + 0.587 * g + 0.114 * b;
                let chroma = r.max(g).max(b) - r.min(g).min(b);
                s.pixels += 1.0;
                s.luma += luma;
                s.chroma += chroma;
                s.white += f32::from(luma >= WHITE_MIN_LUMA && chroma <= WHITE_MAX_CHROMA);
            }
        }
        s
    }
}
